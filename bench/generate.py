"""Generate the province-scale benchmark data set into PostgreSQL (database ``pairing_bench``) with COPY.

    .venv/bin/python -m bench.generate                 # defaults: 1,000 pairings, 5,000 branches, 1,000,000
                                                      # activities (2023-2025), 100,000 volunteers,
                                                      # 2,000,000 service records
    .venv/bin/python -m bench.generate --scale 0.01    # every size times 0.01
    .venv/bin/python -m bench.generate --activities 200000 --fresh

The database is dropped and created, migrated, and every table is filled by streaming rows from generators
into psycopg 3's ``cursor.copy()`` (one transaction; the tables are truncated first so COPY can FREEZE; the
big tables' secondary indexes are dropped before and rebuilt after; foreign-key triggers are off while
loading, every CHECK and unique constraint is enforced). Sequences are moved past the loaded ids, the tables
analysed, and ``rebuild_rollups`` run when that command exists. Same seed, same sizes: the same rows.

A second run with the same sizes and seed against a database whose marker table (``bench_dataset``) says so
does not regenerate: it applies pending migrations (then rebuilds the rollups), and stops. ``--fresh``
regenerates anyway.
"""

from __future__ import annotations

import argparse
import bisect
import datetime
import json
import random
import sys
import threading
import time
from array import array

import psycopg
from psycopg import sql

from bench.common import (
    BENCH_DB, BENCH_PASSWORD, DEFAULT_SEED, DEFAULT_SIZES, FIRST_DAY, LAST_DAY, USERS, YEARS, conninfo, setup_django,
)

GENERATOR_VERSION = 4  # bump when the rows generated change
MARKER = "bench_dataset"

# Tables whose secondary indexes are dropped while loading and rebuilt afterwards (the primary key stays).
BIG_TABLES = (
    "activities_activity",
    "activities_activitymetricvalue",
    "activities_servicerecord",
    "activities_activity_co_branches",
    "volunteers_volunteer",
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖夏韦付方白邹孟熊秦邱江薛闫段雷侯龙史陶黎贺顾毛郝龚邵万严覃武戴莫孔向汤"
)
GIVEN_NAMES = (
    "志强 秀英 建华 丽君 晓峰 慧琳 国平 志刚 海燕 文杰 雅婷 俊杰 思远 佳怡 子涵 浩然 欣怡 梓轩 雨桐 宇航 晨曦 嘉豪 诗琪 "
    "明辉 春梅 桂芳 永红 建军 玉兰 德华 少华 美玲 伟强 淑芬 振宇 晓燕 立新 红霞 家豪 婉婷 嘉欣 锦华 泽宇"
).split()
CITIES = "广州 深圳 珠海 汕头 佛山 韶关 湛江 肇庆 江门 茂名 惠州 梅州 汕尾 河源 阳江 清远 东莞 中山 潮州 揭阳 云浮".split()
VILLAGE_WORDS = "龙石 田心 西阳 和睦 清风 幸福 尹兆 东坑 南岭 北山 新塘 石门 白沙 长岗 高田 黄埔 金竹 桃源 莲塘 横江".split()

PROGRAMS = (  # code, name, share of the pairings
    ("slsz", "双联双助", 0.55),
    ("dyjsq", "党员进社区", 0.25),
    ("djgtt", "党建共同体", 0.12),
    ("ljsz", "两建三做", 0.08),
)
# code, name, unit, aggregation; the first four are summed and used as plan targets
METRICS = (
    ("appliance_repairs", "家电维修", "件", "sum"),
    ("residents_reached", "服务群众", "人次", "sum"),
    ("training_sessions", "技能培训", "场次", "sum"),
    ("cleanup_area", "环境整治面积", "平方米", "sum"),
    ("funds_raised", "协调资金", "万元", "sum"),
    ("herbs_planted", "林下种植中草药", "亩", "sum"),
    ("trees_planted", "仿野生种植石斛", "株", "sum"),
    ("grid_members", "专兼职网格员", "人", "snapshot"),
    ("per_capita_income", "人均纯收入", "元", "snapshot"),
)
ACTIVITY_TYPES = (
    ("theme-party-day", "主题党日"), ("joint-meeting", "联席会议"), ("lecture", "宣讲"),
    ("volunteer-service", "志愿服务"), ("environment", "环境整治"), ("skills-training", "技能培训"),
    ("resident-service", "便民服务"), ("culture", "文化活动"), ("industry-support", "产业帮扶"),
    ("visit-survey", "走访调研"), ("tech-service", "技术服务"), ("mediation", "矛盾调解"),
    ("care-service", "关爱服务"),
)
TITLE_WORDS = ("进村入户", "走进", "携手", "助力", "结对共建", "服务", "党建引领", "共建共享")
DESCRIPTIONS = (
    "支部党员与村两委共同开展活动,现场服务群众并收集意见建议。",
    "围绕年度共建计划,组织党员教师和学生志愿者深入村(社区)开展服务。",
    "召开联席会议,通报上月共建进展,商定下月重点任务和责任分工。",
    "结合专业特长开展技能培训和技术服务,助推产业发展。",
    "开展入户走访,了解困难群众需求,建立需求清单并跟踪落实。",
)
PLAN_ITEM_TITLES = ("家电义修进村", "党员教师宣讲", "人居环境整治", "技能培训进社区", "关爱留守儿童", "产业帮扶项目")
PLAN_CATEGORIES = ("service", "party", "environment", "education", "culture", "industry")
NEED_TITLES = ("修理老人家中的电视机", "为留守儿童辅导功课", "村道路灯维修", "电商直播培训", "清理河涌垃圾")
NEED_CATEGORIES = ("repair", "education", "repair", "industry", "environment")
STATUS_CODES = ("confirmed", "submitted", "draft", "returned")
TZ = "+08"


def person_name(n):
    return SURNAMES[(n * 7) % len(SURNAMES)] + GIVEN_NAMES[(n * 11) % len(GIVEN_NAMES)]


def phone(n):
    prefix = ("138", "139", "137", "136", "135", "158", "159", "186", "188", "150")[n % 10]
    return f"{prefix}{(n * 7919 + 20240917) % 10**8:08d}"


def _distribute(total, weights):
    """Split ``total`` into integers proportional to ``weights`` (largest remainder; sums exactly)."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    parts = [int(x) for x in raw]
    rest = total - sum(parts)
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)[:rest]:
        parts[i] += 1
    return parts


def sizes_from(args):
    sizes = {}
    for key, default in DEFAULT_SIZES.items():
        value = getattr(args, key)
        sizes[key] = int(value) if value is not None else max(1, round(default * args.scale))
    sizes["pairings"] = max(4, sizes["pairings"])
    sizes["branches"] = max(sizes["pairings"] // 2 * 3, sizes["branches"])  # at least 3 per supporting side
    return sizes


# ---------------------------------------------------------------------------------------------------------
# The shape of the province: organisations, pairings, their branches (all small, kept in memory)
# ---------------------------------------------------------------------------------------------------------


class World:
    """Ids and relations of the small tables, computed up front so the big tables' rows can refer to them."""

    def __init__(self, sizes, seed):
        self.sizes, self.seed = sizes, seed
        rng = random.Random(f"{seed}:world")
        P, B = sizes["pairings"], sizes["branches"]
        self.first_day = datetime.date(*FIRST_DAY)
        self.last_day = datetime.date(*LAST_DAY)

        # organisations: ids in the order rows are written
        self.orgs = []  # (id, name, short, kind, parent_id, address)
        self.province = self._org("省委组织部", "", "government", None, "广东省")
        self.offices = [
            self._org(f"{name}项目办公室", name + "办", "government", self.province, "广东省") for _, name, _ in PROGRAMS
        ]
        n_towns = max(1, P // 10)
        self.towns = [
            self._org(f"{CITIES[i % len(CITIES)]}{VILLAGE_WORDS[(i * 7) % len(VILLAGE_WORDS)]}镇{i + 1}", "", "town", None,
                      f"广东省{CITIES[i % len(CITIES)]}市")
            for i in range(n_towns)
        ]
        self.villages, self.village_names = [], []
        for i in range(P):
            town = self.towns[i % n_towns]
            kind = "community" if i % 5 == 0 else "village"
            name = f"{VILLAGE_WORDS[i % len(VILLAGE_WORDS)]}{'社区' if kind == 'community' else '村'}{i // len(VILLAGE_WORDS) + 1}"
            self.villages.append(self._org(name, "", kind, town, ""))
            self.village_names.append(name)
        n_sup = max(1, P // 2)
        per_sup = _distribute(B, [rng.uniform(0.5, 1.5) for _ in range(n_sup)])
        shortfall = [i for i, n in enumerate(per_sup) if n < 3]
        for i in shortfall:  # every supporting side has at least three branches
            donor = max(range(n_sup), key=lambda j: per_sup[j])
            per_sup[donor] -= 3 - per_sup[i]
            per_sup[i] = 3
        self.supporters, self.committees, self.sup_branches, self.sup_short = [], [], [], []
        self.branch_ids = []
        for i in range(n_sup):
            city = CITIES[i % len(CITIES)]
            kind = ("school", "college", "government")[i % 3]
            label = {"school": "中等专业学校", "college": "职业技术学院", "government": "市直机关工委"}[kind]
            name, short = f"{city}市第{i + 1}{label}", f"{city}{i + 1}{label[:2]}"
            sid = self._org(name, short, kind, None, f"广东省{city}市")
            self.supporters.append(sid)
            self.sup_short.append(short)
            self.committees.append(self._org(f"{name}党委", f"{short}党委", "committee", sid, ""))
            branches = [self._org(f"第{k + 1}党支部", f"{short}第{k + 1}党支部", "branch", sid, "") for k in range(per_sup[i])]
            self.sup_branches.append(branches)
            self.branch_ids += branches
        self.branch_index = {b: i for i, b in enumerate(self.branch_ids)}

        # programs and metrics
        self.programs = list(range(1, len(PROGRAMS) + 1))
        self.metrics = {}  # program index → [(metric id, unit, aggregation)]
        mid = 0
        for p in range(len(PROGRAMS)):
            rows = []
            for code, name, unit, agg in METRICS:
                mid += 1
                rows.append((mid, code, name, unit, agg))
            self.metrics[p] = rows

        # pairings: program by share; two per supporting side; each one village
        shares = _distribute(P, [s for *_, s in PROGRAMS])
        self.pair_program = []
        for p, n in enumerate(shares):
            self.pair_program += [p] * n
        rng.shuffle(self.pair_program)
        self.pair_program[0] = 0  # pairing 1 (the benchmark users') is in the biggest program
        self.pair_supporter = [min(i // 2, n_sup - 1) for i in range(P)]
        self.pair_branches = []
        for i in range(P):
            pool = self.sup_branches[self.pair_supporter[i]]
            k = min(len(pool), rng.randint(3, 6))
            self.pair_branches.append(sorted(rng.sample(pool, k)))
        self.pair_weight = [rng.uniform(0.3, 1.7) for _ in range(P)]
        # the benchmark secretary's branch takes part in both pairings of its school, each a busy one
        self.pair_weight[0] = self.pair_weight[1] = 1.5
        if self.pair_supporter[1] == self.pair_supporter[0] and self.pair_branches[0][0] not in self.pair_branches[1]:
            self.pair_branches[1] = sorted(self.pair_branches[1][1:] + [self.pair_branches[0][0]])

        # plans: one per pairing and year, three items each, one target per item
        self.n_items_per_plan = 3

        # volunteers: contiguous id ranges per branch
        V = sizes["volunteers"]
        per_branch = _distribute(V, [1.0] * len(self.branch_ids))
        self.vol_start, start = [], 1
        for n in per_branch:
            self.vol_start.append(start)
            start += n
        self.vol_count = per_branch

    def _org(self, name, short, kind, parent, address):
        oid = len(self.orgs) + 1
        self.orgs.append((oid, name, short, kind, parent, address))
        return oid

    def plan_id(self, p, year_index):
        return p * len(YEARS) + year_index + 1

    def item_id(self, p, year_index, k):
        return (self.plan_id(p, year_index) - 1) * self.n_items_per_plan + k + 1


# ---------------------------------------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------------------------------------


def _v(value):
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def _line(*values):
    return "\t".join(_v(v) for v in values) + "\n"


def ts(day, hhmm="20:00"):
    return f"{day.isoformat()} {hhmm}:00{TZ}"


def org_rows(w):
    for oid, name, short, kind, parent, address in w.orgs:
        yield _line(oid, name, short, kind, address, "", "", True, parent)


def user_rows(w, password_hash):
    for n, (role, username) in enumerate(USERS.items(), start=1):
        yield _line(n, password_hash, None, False, username, "", "", f"{username}@bench.invalid", False, True,
                    ts(w.first_day, "08:00"), f"基准{role}", "")


def membership_rows(w):
    ids = {role: n for n, role in enumerate(USERS, start=1)}
    first_branch = w.pair_branches[0][0]
    rows = (
        (ids["secretary"], first_branch, "secretary", "支部书记"),
        (ids["committee"], w.supporters[w.pair_supporter[0]], "committee", "党委委员"),
        (ids["admin"], w.province, "admin", "项目管理员"),
        (ids["village"], w.villages[0], "village_committee", "村两委委员"),
    )
    for n, (user, org, role, title) in enumerate(rows, start=1):
        yield _line(n, role, title, ts(w.first_day, "08:00"), user, org)


def program_rows(w):
    for n, (code, name, _) in enumerate(PROGRAMS):
        yield _line(n + 1, name, code, f"{name}:省级结对共建项目(基准数据)。", True, True, True, w.offices[n])


def metric_rows(w):
    for p, rows in w.metrics.items():
        for order, (mid, code, name, unit, agg) in enumerate(rows):
            yield _line(mid, code, name, unit, agg, "", order, p + 1)


def activity_type_rows(w):
    for n, (code, name) in enumerate(ACTIVITY_TYPES, start=1):
        yield _line(n, code, name, n, True)


def pairing_rows(w):
    for i in range(w.sizes["pairings"]):
        yield _line(i + 1, "active", "2022-12-20", "2023-01-01", "2026-12-31",
                    f"{w.sup_short[w.pair_supporter[i]]}与{w.village_names[i]}结对共建,组织共联、资源共享、服务共抓。", "",
                    ts(datetime.date(2022, 12, 20)), w.villages[i], w.supporters[w.pair_supporter[i]],
                    w.pair_program[i] + 1, "f")


def pairing_branch_rows(w):
    n = 0
    for i, branches in enumerate(w.pair_branches):
        for b in branches:
            n += 1
            yield _line(n, "2023-01-01", b, i + 1)


def liaison_rows(w):
    n = 0
    for i in range(w.sizes["pairings"]):
        for side, seed in (("supporter", 2 * i), ("supported", 2 * i + 1)):
            n += 1
            yield _line(n, side, person_name(seed + 5000), "联络员", phone(seed), "", None, i + 1)


def plan_rows(w):
    for i in range(w.sizes["pairings"]):
        for y, year in enumerate(YEARS):
            agreed = datetime.date(year, 2, 1)
            yield _line(w.plan_id(i, y), year, f"{year}年度{w.village_names[i]}结对共建计划", "年度共建重点任务。",
                        agreed, ts(datetime.date(year, 1, 15)), ts(datetime.date(year, 1, 15)), None, i + 1)


def plan_item_rows(w):
    for i in range(w.sizes["pairings"]):
        branches = w.pair_branches[i]
        for y, year in enumerate(YEARS):
            for k in range(w.n_items_per_plan):
                t = (i + k) % len(PLAN_ITEM_TITLES)
                done = year < YEARS[-1]
                yield _line(w.item_id(i, y, k), PLAN_ITEM_TITLES[t], PLAN_CATEGORIES[t], "", "村两委",
                            datetime.date(year, 3 + 4 * k, 28), "done" if done else "in_progress",
                            100 if done else 40 + 20 * k, k, branches[k % len(branches)], w.plan_id(i, y))


def plan_target_rows(w):
    for i in range(w.sizes["pairings"]):
        metrics = w.metrics[w.pair_program[i]]
        for y in range(len(YEARS)):
            for k in range(w.n_items_per_plan):
                item = w.item_id(i, y, k)
                yield _line(item, (k + 1) * 50, item, metrics[k][0])


def need_rows(w):
    rng = random.Random(f"{w.seed}:needs")
    n = 0
    span = (w.last_day - w.first_day).days
    for i in range(w.sizes["pairings"]):
        branch = w.pair_branches[i][0]
        for k, status in enumerate(("open", "claimed", "fulfilled", "closed", "closed")):
            n += 1
            raised = w.first_day + datetime.timedelta(days=rng.randrange(span - 30))
            claimed = raised + datetime.timedelta(days=2) if status != "open" else None
            fulfilled = raised + datetime.timedelta(days=12) if status in ("fulfilled", "closed") else None
            rated = raised + datetime.timedelta(days=14) if status == "closed" else None
            yield _line(n, NEED_TITLES[k], "", NEED_CATEGORIES[k], person_name(n), k % 2 == 0, status,
                        ts(raised, "09:00"), claimed and ts(claimed, "10:00"), fulfilled and ts(fulfilled, "16:00"),
                        5 - k % 2 if rated else None, "很满意" if rated else "", rated and ts(rated, "09:00"), None,
                        branch if claimed else None, i + 1, None)


def volunteer_rows(w):
    rng = random.Random(f"{w.seed}:volunteers")
    created = ts(w.first_day, "09:00")
    for b, start in enumerate(w.vol_start):
        org = w.branch_ids[b]
        for vid in range(start, start + w.vol_count[b]):
            r = rng.random()
            kind = "party_member" if r < 0.4 else "teacher" if r < 0.7 else "student" if r < 0.95 else "other"
            party = kind == "party_member" or (kind == "teacher" and r < 0.5)
            yield f"{vid}\t{person_name(vid)}\t{kind}\t{'t' if party else 'f'}\t{phone(vid)}\t\tt\t{created}\t{org}\n"


class Activities:
    """The activity rows, newest ids on the latest days (as a real portal fills up), plus compact per-row
    facts (pairing, branch, day, status) that the metric values and service records are generated from."""

    def __init__(self, w):
        self.w = w
        A = w.sizes["activities"]
        days = (w.last_day - w.first_day).days + 1
        weights = []
        for d in range(days):
            day = w.first_day + datetime.timedelta(days=d)
            weights.append((1.0 + d / days) * (0.6 if day.weekday() >= 5 else 1.0))  # growing, quieter weekends
        self.per_day = _distribute(A, weights)
        self.days = [w.first_day + datetime.timedelta(days=d) for d in range(days)]
        self.pairing = array("i")
        self.branch = array("i")
        self.day = array("i")
        self.status = array("b")
        self.co_branches = []  # (activity id, organisation id)

    def rows(self):
        w = self.w
        rng = random.Random(f"{w.seed}:activities")
        rand = rng.random
        cum, total = [], 0.0
        for weight in w.pair_weight:
            total += weight
            cum.append(total)
        n_pairings = len(cum)
        types = [name for _, name in ACTIVITY_TYPES]
        n_types = len(types)
        village = w.village_names
        year_index = {year: y for y, year in enumerate(YEARS)}
        aid = 0
        buffer = []
        for d, count in enumerate(self.per_day):
            day = self.days[d]
            iso = day.isoformat()
            created = f"{iso} 20:00:00{TZ}"
            submitted = f"{(day + datetime.timedelta(days=1)).isoformat()} 20:30:00{TZ}"
            confirmed = f"{(day + datetime.timedelta(days=3)).isoformat()} 10:00:00{TZ}"
            y = year_index[day.year]
            for _ in range(count):
                aid += 1
                p = min(bisect.bisect_left(cum, rand() * total), n_pairings - 1)
                branches = w.pair_branches[p]
                branch = branches[int(rand() * len(branches))]
                t = int(rand() * n_types)
                r = rand()
                s = 0 if r < 0.93 else 1 if r < 0.96 else 2 if r < 0.98 else 3
                self.pairing.append(p)
                self.branch.append(branch)
                self.day.append(d)
                self.status.append(s)
                hour = ("09:00:00", "14:30:00", "19:00:00")[aid % 3]
                end = ("11:30:00", "17:00:00", "21:00:00")[aid % 3]
                item = w.item_id(p, y, int(rand() * 3)) if rand() < 0.15 else "\\N"
                deleted = f"{iso} 22:00:00{TZ}" if rand() < 0.002 else "\\N"
                buffer.append(
                    f"{aid}\t{TITLE_WORDS[aid % 8]}{village[p]}·{types[t]}\t{iso}\t{hour}\t{end}\t{village[p]}党群服务中心\t"
                    f"{DESCRIPTIONS[t % 5]}\t{int(rand() * 12)}\t{int(rand() * 6)}\t{int(rand() * 20)}\t{int(rand() * 150)}\t"
                    f"{STATUS_CODES[s]}\t{submitted if s != 2 else chr(92) + 'N'}\t{confirmed if s == 0 else chr(92) + 'N'}\t"
                    f"{'请补充活动照片和参与人数。' if s == 3 else ''}\t{created}\t{confirmed if s == 0 else created}\t"
                    f"{deleted}\t{branch}\t\\N\t\\N\t{p + 1}\t{item}\t{t + 1}\t\\N\t\t\t{w.pair_program[p] + 1}"
                    # the kept columns (activities.kept) blank here: rebuild_rollups fills them from the records
                    "\t\t\t0\t0\t0\t\\N\n"
                )
                if len(branches) > 1 and rand() < 0.04:
                    others = [b for b in branches if b != branch]
                    for co in rng.sample(others, min(len(others), 1 + int(rand() * 2))):
                        self.co_branches.append((aid, co))
                if len(buffer) >= 2000:
                    yield "".join(buffer)
                    buffer.clear()
        if buffer:
            yield "".join(buffer)

    def co_branch_rows(self):
        for n, (aid, org) in enumerate(self.co_branches, start=1):
            yield f"{n}\t{aid}\t{org}\n"

    def metric_value_rows(self):
        w = self.w
        rng = random.Random(f"{w.seed}:metric-values")
        rand = rng.random
        buffer, n = [], 0
        for i in range(len(self.pairing)):
            metrics = w.metrics[w.pair_program[self.pairing[i]]]
            k = 1 if rand() < 0.5 else 2
            first = int(rand() * len(metrics))
            for j in range(k):
                mid, _, _, unit, agg = metrics[(first + j * 3) % len(metrics)]
                if unit == "万元":
                    value = f"{int(rand() * 500) / 100:.2f}"
                elif unit == "亩":
                    value = f"{int(rand() * 100) / 10:.1f}"
                elif unit == "元":
                    value = str(15000 + int(rand() * 5000))
                elif agg == "snapshot":
                    value = str(5 + int(rand() * 30))
                else:
                    value = str(1 + int(rand() * 40))
                n += 1
                buffer.append(f"{n}\t{value}\t{i + 1}\t{mid}\n")
            if len(buffer) >= 4000:
                yield "".join(buffer)
                buffer.clear()
        if buffer:
            yield "".join(buffer)

    def service_record_rows(self):
        w = self.w
        rng = random.Random(f"{w.seed}:service-records")
        rand, sample = rng.random, rng.sample
        A = len(self.pairing)
        avg = w.sizes["service_records"] / max(1, A)
        spread = 2 * avg + 1
        hours = ("1.0", "1.5", "2.0", "2.5", "3.0", "4.0", "0.5", "6.0")
        types = [name for _, name in ACTIVITY_TYPES]
        buffer, n = [], 0
        stamps = {}
        for i in range(A):
            k = int(rand() * spread)
            if not k:
                continue
            b = w.branch_index[self.branch[i]]
            count = w.vol_count[b]
            if count == 0:
                continue
            k = min(k, count)
            d = self.day[i]
            stamp = stamps.get(d)
            if stamp is None:
                day = self.days[d]
                stamp = stamps[d] = (
                    f"{(day + datetime.timedelta(days=5)).isoformat()} 10:00:00{TZ}",
                    f"{(day + datetime.timedelta(days=1)).isoformat()} 20:30:00{TZ}",
                )
            verified_at, created = stamp
            confirmed = self.status[i] == 0
            content = "志愿服务:" + types[i % len(types)]
            start = w.vol_start[b]
            for offset in sample(range(count), k):
                n += 1
                if confirmed and rand() < 0.95:
                    buffer.append(f"{n}\t{hours[n % 8]}\t{content}\tverified\t{verified_at}\t{created}\t\\N\t{i + 1}\t\\N\t\\N\t{start + offset}\n")
                else:
                    buffer.append(f"{n}\t{hours[n % 8]}\t{content}\trecorded\t\\N\t{created}\t\\N\t{i + 1}\t\\N\t\\N\t{start + offset}\n")
            if len(buffer) >= 4000:
                yield "".join(buffer)
                buffer.clear()
        if buffer:
            yield "".join(buffer)


# table → columns, in the order the rows above write them
COLUMNS = {
    "portal_organization": "id, name, short_name, kind, address, contact_name, contact_phone, is_active, parent_id",
    "portal_user": "id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, "
                   "is_active, date_joined, full_name, phone",
    "portal_membership": "id, role, title, created_at, user_id, organization_id",
    "pairings_program": "id, name, code, description, monthly_reports, quarterly_reports, is_active, office_id",
    "pairings_metric": 'id, code, name, unit, aggregation, description, "order", program_id',
    "activities_activitytype": 'id, code, name, "order", is_active',
    "pairings_pairing": "id, status, signed_on, term_start, term_end, goals, agreement_file, created_at, supported_id, "
                        "supporter_id, program_id, renewing",
    "pairings_pairingbranch": "id, joined_on, branch_id, pairing_id",
    "pairings_liaison": "id, side, name, title, phone, email, user_id, pairing_id",
    "pairings_jointplan": "id, year, title, summary, village_agreed_on, created_at, updated_at, village_agreed_by_id, "
                          "pairing_id",
    "pairings_planitem": 'id, title, category, description, village_counterpart, due_date, status, progress, "order", '
                         "owner_branch_id, plan_id",
    "pairings_plantarget": "id, value, item_id, metric_id",
    "activities_need": "id, title, description, category, wanted_by, mask_wanted_by, status, raised_at, claimed_at, "
                       "fulfilled_at, rating, rating_comment, rated_at, deleted_at, claimed_by_branch_id, pairing_id, "
                       "raised_by_id",
    "volunteers_volunteer": "id, name, kind, is_party_member, phone, note, is_active, created_at, organization_id",
    "activities_activity": "id, title, date, start_time, end_time, place, description, party_members, teachers, "
                           "students, residents_served, status, submitted_at, confirmed_at, return_comment, created_at, "
                           "updated_at, deleted_at, branch_id, confirmed_by_id, created_by_id, pairing_id, plan_item_id, "
                           "activity_type_id, need_id, correction_reason, correction_summary, program_id, kept_co_host_ids, "
                           "kept_figures, kept_pending_hours, kept_photos, kept_verified_hours, kept_verified_until",
    "activities_activity_co_branches": "id, activity_id, organization_id",
    "activities_activitymetricvalue": "id, value, activity_id, metric_id",
    "activities_servicerecord": "id, hours, content, status, verified_at, created_at, deleted_at, activity_id, "
                                "recorded_by_id, verified_by_id, volunteer_id",
}


# ---------------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------------


def log(message):
    print(message, flush=True)


def check_columns(conn):
    """Every NOT NULL column without a default must be one we write (a new one would make COPY fail obscurely)."""
    problems = []
    for table, columns in COLUMNS.items():
        ours = {c.strip().strip('"') for c in columns.split(",")}
        for name, nullable, default, identity in conn.execute(
            "SELECT column_name, is_nullable, column_default, is_identity FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = %s",
            (table,),
        ):
            if name not in ours and nullable == "NO" and default is None and identity == "NO":
                problems.append(f"{table}.{name}")
        if not ours <= {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema='public' AND table_name=%s", (table,)
        )}:
            problems.append(f"{table}: a column the generator writes is gone")
    if problems:
        raise SystemExit("bench.generate: the schema has changed; teach the generator about: " + ", ".join(problems))


def secondary_indexes(conn, table):
    """(drop statement, create statement) for each index and unique constraint of ``table`` except its primary key."""
    out = []
    for index, indexdef, conname, contype in conn.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), c.conname, c.contype
        FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
        WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
        """,
        (table,),
    ):
        if contype == "u":
            cdef = conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
                (conname, table),
            ).fetchone()[0]
            out.append((f'ALTER TABLE {table} DROP CONSTRAINT "{conname}"',
                        f'ALTER TABLE {table} ADD CONSTRAINT "{conname}" {cdef}'))
        else:
            out.append((f"DROP INDEX {index}", indexdef))
    return out


def copy_table(conn, table, chunks, timings):
    started = time.monotonic()
    rows = 0
    with conn.cursor() as cur:
        with cur.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN WITH (FREEZE)") as copy:
            for chunk in chunks:
                rows += chunk.count("\n")
                copy.write(chunk.encode())
    elapsed = time.monotonic() - started
    timings[table] = {"rows": rows, "seconds": round(elapsed, 2)}
    log(f"  {table:<36} {rows:>10,} rows {elapsed:7.1f} s  ({rows / max(elapsed, 1e-6):,.0f} rows/s)")


def build_indexes(statements, timings):
    """Rebuild the dropped indexes on two connections at once (two cores)."""
    started = time.monotonic()
    # biggest first, spread over two workers
    queue = list(statements)
    lock = threading.Lock()
    errors = []

    def worker():
        with psycopg.connect(conninfo(), autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '512MB'")
            conn.execute("SET max_parallel_maintenance_workers = 0")
            while True:
                with lock:
                    if not queue:
                        return
                    sql = queue.pop(0)
                try:
                    conn.execute(sql)
                except Exception as exc:  # a unique violation would be the generator's bug: say which
                    errors.append(f"{sql}: {exc}")

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("bench.generate: rebuilding indexes failed:\n" + "\n".join(errors))
    timings["(indexes and unique constraints)"] = {"rows": len(statements), "seconds": round(time.monotonic() - started, 2)}
    log(f"  {'indexes and unique constraints':<36} {len(statements):>10} built {time.monotonic() - started:7.1f} s")


def read_marker():
    try:
        with psycopg.connect(conninfo(), connect_timeout=5) as conn:
            row = conn.execute(f"SELECT value FROM {MARKER} WHERE key = 'dataset'").fetchone()
            return json.loads(row[0]) if row else None
    except psycopg.Error:
        return None


def write_marker(info):
    with psycopg.connect(conninfo(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (key text PRIMARY KEY, value text NOT NULL)")
        conn.execute(
            f"INSERT INTO {MARKER} (key, value) VALUES ('dataset', %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (json.dumps(info),),
        )
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(BENCH_DB), sql.Literal(f"benchmark data set: {info['sizes']} seed {info['seed']}")
        ))


def migration_digests():
    """{app.migration: sha1 of its file} for every migration on disk: the schema the tree describes."""
    import hashlib

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    out = {}
    for (app, name), migration in loader.disk_migrations.items():
        path = sys.modules[migration.__module__].__file__
        with open(path, "rb") as handle:
            out[f"{app}.{name}"] = hashlib.sha1(handle.read()).hexdigest()[:16]
    return out


def rollup_digest():
    """A digest of the rollup code, so a changed rollup is rebuilt on the existing data."""
    import hashlib
    from pathlib import Path

    from bench.common import ROOT

    digest = hashlib.sha1()
    for rel in ("figures/rollups.py", "figures/management/commands/rebuild_rollups.py"):
        path = Path(ROOT) / rel
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def pending_migrations():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return executor.migration_plan(executor.loader.graph.leaf_nodes())


def rollups_command():
    from django.core.management import get_commands

    return "rebuild_rollups" if "rebuild_rollups" in get_commands() else None


def run_rollups(timings):
    from django.core.management import call_command
    from django.db import connections

    name = rollups_command()
    if name is None:
        log("  rebuild_rollups: no such command in this tree (skipped)")
        return False
    started = time.monotonic()
    try:
        call_command(name)
    except Exception as exc:  # the rollup is another part's work in progress: say so, measure the rest
        log(f"  rebuild_rollups FAILED: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}")
        timings["rebuild_rollups"] = {"rows": None, "seconds": round(time.monotonic() - started, 2), "failed": str(exc)[:300]}
        return False
    finally:
        connections.close_all()
    timings["rebuild_rollups"] = {"rows": None, "seconds": round(time.monotonic() - started, 2)}
    log(f"  {'rebuild_rollups':<36} {'':>10}      {time.monotonic() - started:7.1f} s")
    try:  # COPY sends no signals: what the cache holds of an earlier data set is dropped (portal/versioned.py)
        from portal import versioned

        versioned.setup_changed()
    except ImportError:
        pass
    return True


def analyze(timings):
    started = time.monotonic()
    with psycopg.connect(conninfo(), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    timings["(vacuum analyze)"] = {"rows": None, "seconds": round(time.monotonic() - started, 2)}
    log(f"  {'vacuum analyze':<36} {'':>10}      {time.monotonic() - started:7.1f} s")


def compact(timings):
    """The rollup rebuild rewrites every activity row (activities.kept's columns): without this the table stays
    twice its size, and every scan of it reads the dead half. Then a plain VACUUM: VACUUM FULL leaves the
    visibility map empty, so no index-only scan of the table (the covering indexes') would skip its rows until
    autovacuum came by, as it does on a live database."""
    started = time.monotonic()
    with psycopg.connect(conninfo(), autocommit=True) as conn:
        conn.execute("VACUUM (FULL, ANALYZE) activities_activity")
        conn.execute("VACUUM activities_activity")
    timings["(vacuum full activities)"] = {"rows": None, "seconds": round(time.monotonic() - started, 2)}
    log(f"  {'vacuum full activities':<36} {'':>10}      {time.monotonic() - started:7.1f} s")


def migrate(timings, verbosity=0):
    from django.core.management import call_command
    from django.db import connections

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=verbosity)
    connections.close_all()
    timings["(migrate)"] = {"rows": None, "seconds": round(time.monotonic() - started, 2)}
    log(f"  {'migrate':<36} {'':>10}      {time.monotonic() - started:7.1f} s")


def generate(sizes, seed):
    from django.contrib.auth.hashers import make_password

    from django.db import connections

    timings = {}
    started = time.monotonic()
    connections.close_all()  # this process's own connection goes too, before the database does
    log(f"bench.generate: dropping and creating {BENCH_DB}")
    with psycopg.connect(conninfo("postgres"), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (BENCH_DB,),
        )
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        admin.execute(f"CREATE DATABASE {BENCH_DB}")
    migrate(timings)

    world = World(sizes, seed)
    activities = Activities(world)
    password_hash = make_password(BENCH_PASSWORD)
    with psycopg.connect(conninfo()) as conn:
        check_columns(conn)
        conn.execute("SET session_replication_role = replica")  # no FK triggers while loading; CHECKs still hold
        conn.execute("SET synchronous_commit = off")
        conn.execute("TRUNCATE " + ", ".join(COLUMNS) + " CASCADE")  # same transaction as COPY: FREEZE allowed
        rebuild = []
        for table in BIG_TABLES:
            for drop, create in secondary_indexes(conn, table):
                conn.execute(drop)
                rebuild.append(create)
        # the biggest index builds first, so the two workers finish together
        rebuild.sort(key=lambda sql: [t in sql for t in ("activities_servicerecord", "activities_activity ",
                                                         "activities_activitymetricvalue")], reverse=True)
        log("bench.generate: loading (COPY)")
        copy_table(conn, "portal_organization", org_rows(world), timings)
        copy_table(conn, "portal_user", user_rows(world, password_hash), timings)
        copy_table(conn, "portal_membership", membership_rows(world), timings)
        copy_table(conn, "pairings_program", program_rows(world), timings)
        copy_table(conn, "pairings_metric", metric_rows(world), timings)
        copy_table(conn, "activities_activitytype", activity_type_rows(world), timings)
        copy_table(conn, "pairings_pairing", pairing_rows(world), timings)
        copy_table(conn, "pairings_pairingbranch", pairing_branch_rows(world), timings)
        copy_table(conn, "pairings_liaison", liaison_rows(world), timings)
        copy_table(conn, "pairings_jointplan", plan_rows(world), timings)
        copy_table(conn, "pairings_planitem", plan_item_rows(world), timings)
        copy_table(conn, "pairings_plantarget", plan_target_rows(world), timings)
        copy_table(conn, "activities_need", need_rows(world), timings)
        copy_table(conn, "volunteers_volunteer", volunteer_rows(world), timings)
        copy_table(conn, "activities_activity", activities.rows(), timings)
        copy_table(conn, "activities_activity_co_branches", activities.co_branch_rows(), timings)
        copy_table(conn, "activities_activitymetricvalue", activities.metric_value_rows(), timings)
        copy_table(conn, "activities_servicerecord", activities.service_record_rows(), timings)
        for table in COLUMNS:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT max(id) FROM {table}), 1))"
            )
        commit_started = time.monotonic()
        conn.commit()
        log(f"  {'commit':<36} {'':>10}      {time.monotonic() - commit_started:7.1f} s")
    build_indexes(rebuild, timings)
    analyze(timings)
    rollups = run_rollups(timings)
    if rollups:
        compact(timings)
    total = time.monotonic() - started
    info = {
        "sizes": sizes,
        "seed": seed,
        "generator_version": GENERATOR_VERSION,
        "migrations": migration_digests(),
        "rollups": rollups,
        "rollup_digest": rollup_digest() if rollups else None,
        "generated_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(total, 1),
        "timings": timings,
    }
    write_marker(info)
    log(f"bench.generate: done in {total:.0f} s")
    return info


def ensure(sizes, seed, fresh=False):
    """Generate unless the database already holds this data set; bring its schema and rollups up to date.

    The schema is current when every migration the database has applied is still on disk unchanged (a
    changed or vanished one means regenerating); migrations added since are applied to the data in place."""
    setup_django()
    marker = None if fresh else read_marker()
    same = (
        marker is not None
        and marker.get("sizes") == sizes
        and marker.get("seed") == seed
        and marker.get("generator_version") == GENERATOR_VERSION
    )
    if same and "migrations" not in marker:
        log(f"bench.generate: {BENCH_DB} does not record its migrations: regenerating")
        same = False
    if same:
        on_disk = migration_digests()
        changed = [name for name, digest in marker["migrations"].items() if on_disk.get(name) != digest]
        if changed:
            log(f"bench.generate: migrations applied to {BENCH_DB} have changed or gone ({', '.join(changed[:5])}): "
                "regenerating")
            same = False
    if not same:
        return generate(sizes, seed)
    log(f"bench.generate: {BENCH_DB} already holds this data set ({marker['generated_at']}); not regenerating")
    timings = {}
    plan = pending_migrations()
    from django.db import connections

    connections.close_all()
    if plan:
        log(f"bench.generate: applying {len(plan)} pending migration(s) to the existing data")
        migrate(timings, verbosity=1)
        marker["migrations"] = migration_digests()
    stale_rollups = rollups_command() and (not marker.get("rollups") or marker.get("rollup_digest") != rollup_digest())
    if plan or stale_rollups:
        marker["rollups"] = run_rollups(timings)
        marker["rollup_digest"] = rollup_digest() if marker["rollups"] else None
        compact(timings)
        analyze(timings)
    if timings:
        marker.setdefault("updates", []).append({"at": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"), "timings": timings})
        write_marker(marker)
    marker["this_run"] = timings
    return marker


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every default size (e.g. 0.01)")
    parser.add_argument("--pairings", type=int)
    parser.add_argument("--branches", type=int)
    parser.add_argument("--activities", type=int)
    parser.add_argument("--volunteers", type=int)
    parser.add_argument("--service-records", dest="service_records", type=int)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--fresh", action="store_true", help="regenerate even if the data set is already there")
    args = parser.parse_args(argv)
    info = ensure(sizes_from(args), args.seed, fresh=args.fresh)
    print(json.dumps({
        "sizes": info["sizes"], "seed": info["seed"], "seconds": info.get("seconds"), "rollups": info.get("rollups"),
        "generated_at": info.get("generated_at"), "timings": info.get("timings"), "this_run": info.get("this_run"),
    }))


if __name__ == "__main__":
    sys.exit(main())
