"""Demo data: the four pairing programs of the seed texts as real records (``manage.py load_demo``).

The seeds (``shared/seeds/000``–``003``) describe four real cases:

* 000 双联双助 — 中山市中等专业学校 (中山中专) with 五桂山街道龙石村 (and 港口镇 for its 港口校区 branch);
* 001 党员进社区 — 广州城市职业学院 with 增城区田心村 (lemon industry) and 梅州西阳镇 (bridges after the 2024 rain);
* 002 党建共同体 — 金华职业技术学院公共基础学院(马克思主义学院)党委 with 江南街道 and its communities;
* 003 两建三做 — 市委市直机关工委 with 龙陵县龙山镇尹兆场社区.

Where a seed gives a figure, the activities' metric values add up to it exactly; where it says "100多件" or
"400余人" the concrete number chosen is in :data:`SEED_FIGURES`, which the tests compare with the ORM. Names of
people other than 贾珍 (named in seed 000) are invented, as are figures the seeds do not give.

Loading is idempotent: every row has a natural key; a second run finds every row equal and writes nothing (no
row and no history row). It refuses to touch a database holding anything that is not demo data.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models, transaction
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from activities.models import Activity, ActivityMetricValue, ActivityType, Need, ServiceRecord
from pairings.models import JointPlan, Liaison, Metric, Pairing, PairingBranch, PlanItem, PlanTarget, Program
from portal.models import Membership, Organization, User
from figures.rollups import rollups_rebuild
from volunteers.models import ServiceOffering, Team, Volunteer

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
LAST_DAY = datetime.date(2024, 12, 31)
LAST_MOMENT = datetime.datetime(2024, 12, 31, 20, 0, tzinfo=TZ)

# A fixed salt makes the demo password's hash the same on every run, so a second run can see that nothing
# changed without hashing again. The password is public anyway (settings.PORTAL_DEMO_PASSWORD).
DEMO_PASSWORD_SALT = "DemoDataOnlyFixedSalt2024"
DEMO_EMAIL_DOMAIN = "demo.invalid"

OK = Organization.Kind


class DemoRefused(Exception):
    """The database holds data that is not demo data (or the portal runs in production mode)."""


# --------------------------------------------------------------------------------------------------------
# The seeds' figures and the concrete numbers chosen for them
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedFigure:
    program: str  # Program.code
    metric: str  # Metric.code
    value: int
    seed: str  # which seed text says so
    quote: str  # what it says
    year: int | None = None  # for snapshot metrics: the year the value belongs to


SEED_FIGURES = (
    SeedFigure("slsz", "appliance_repairs", 108, "000", "“小电匠”已在校外开展十余次维修活动,共维修100多件电器"),
    SeedFigure("dyjsq", "bridges_inspected", 9, "001", "完成9座乡村桥梁数字化检测与修缮设计"),
    SeedFigure("ljsz", "funds_raised", 312, "003", "共协调资金300余万元"),
    SeedFigure("ljsz", "tech_trainings", 7, "003", "开展产业科技培训7场次"),
    SeedFigure("ljsz", "tech_trainees", 426, "003", "培训400余人"),
    SeedFigure("ljsz", "tech_tutors", 52, "003", "培养农村科技辅导员50余人"),
    SeedFigure("ljsz", "demo_base_area", 210, "003", "建成市级中药材种植科技示范基地200余亩"),
    SeedFigure("ljsz", "new_varieties", 2, "003", "2个石斛优良品种获授权登记"),
    SeedFigure("ljsz", "leadgoose_sessions", 24, "003", "共开展“领头雁”培养计划和家庭教育指导服务20余次"),
    SeedFigure("ljsz", "leadgoose_trainees", 1632, "003", "累计优选培养学员1600余人"),
    SeedFigure("ljsz", "mediators_trained", 22, "003", "培养“领头雁”调解员20余人"),
    SeedFigure("ljsz", "disputes_mediated", 23, "003", "调解矛盾纠纷20余起"),
    SeedFigure("ljsz", "speech_contests", 2, "003", "共举办儿童主题演讲比赛2次"),
    SeedFigure("ljsz", "summer_camps", 3, "003", "“向阳小葵花”素质拓展夏令营3次"),
    SeedFigure("ljsz", "children_visited", 64, "003", "走访留守儿童60余人"),
    SeedFigure("ljsz", "case_services", 36, "003", "开展个案服务36场次"),
    SeedFigure("ljsz", "group_activities", 32, "003", "小组活动32场次"),
    SeedFigure("ljsz", "children_served", 1312, "003", "服务儿童1312人次"),
    SeedFigure("ljsz", "residents_served", 3050, "003", "服务群众3000余人"),
    SeedFigure("ljsz", "cleanups", 30, "003", "开展人居环境整治、河湖沟渠清理行动30次"),
    SeedFigure("ljsz", "dendrobium_planted", 10600, "003", "仿野生种植石斛1万余株"),
    SeedFigure("ljsz", "courtyard_greening", 2920, "003", "利用特色中药材盆景装点庭院及公共区域2920平方米"),
    SeedFigure("ljsz", "herbs_planted", 1958, "003", "在林下种植石斛、重楼、黄精等中草药1958亩"),
    SeedFigure("ljsz", "per_capita_income", 16861, "003", "2023年,社区人均纯收入达16861元", year=2023),
)

# How many activities carry a value for these metrics ("十余次" → 12 events; "7场次"; "20余次" → 24; "30次").
SEED_ACTIVITY_COUNTS = {
    ("slsz", "appliance_repairs"): 12,
    ("ljsz", "tech_trainings"): 7,
    ("ljsz", "leadgoose_sessions"): 24,
    ("ljsz", "cleanups"): 30,
    ("ljsz", "speech_contests"): 2,
    ("ljsz", "summer_camps"): 3,
}

# The appliance repairs of the twelve “小电匠” events, in date order (seed 000: 十余次, 100多件).
XIAODIANJIANG_REPAIRS = (9, 7, 11, 8, 10, 6, 12, 9, 8, 10, 9, 9)


def _seed_value(program, metric):
    return next(f.value for f in SEED_FIGURES if f.program == program and f.metric == metric)


# --------------------------------------------------------------------------------------------------------
# Small deterministic helpers
# --------------------------------------------------------------------------------------------------------


def D(text):
    return datetime.date.fromisoformat(text)


def at(day, hhmm="09:00"):
    """An aware datetime in Asia/Shanghai, never later than the demo's last moment (2024-12-31 20:00)."""
    hour, minute = map(int, hhmm.split(":"))
    moment = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)
    return min(moment, LAST_MOMENT)


def T(text):
    return datetime.time.fromisoformat(text) if text else None


def spread(total, count, pattern=(5, 7, 6, 8, 4, 9, 6, 7, 5, 8)):
    """``count`` whole numbers in the proportions of a fixed pattern that add up to exactly ``total``."""
    weights = [pattern[i % len(pattern)] for i in range(count)]
    scale = sum(weights)
    shares = [total * w // scale for w in weights]
    remainders = sorted(range(count), key=lambda i: (-(total * weights[i] % scale), i))
    for i in remainders[: total - sum(shares)]:
        shares[i] += 1
    return shares


def phone(n):
    """A well-formed but fake mobile number (11 digits, a real-looking 13x/15x/18x prefix)."""
    prefix = ("138", "139", "137", "136", "135", "158", "159", "186", "188", "150")[n % 10]
    return f"{prefix}{(n * 7919 + 20240917) % 10**8:08d}"


SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖夏韦付方白邹孟熊秦邱江薛闫段雷侯龙史陶黎贺顾毛郝龚邵万严覃武戴莫孔向汤"
)
GIVEN_NAMES = (
    "志强 秀英 建华 丽君 晓峰 慧琳 国平 志刚 海燕 文杰 雅婷 俊杰 思远 佳怡 子涵 浩然 欣怡 梓轩 雨桐 宇航 晨曦 嘉豪 诗琪 "
    "明辉 春梅 桂芳 永红 建军 玉兰 德华 少华 美玲 伟强 淑芬 振宇 晓燕 立新 红霞 家豪 婉婷 嘉欣 锦华 泽宇"
).split()


def person_name(n):
    return SURNAMES[(n * 7) % len(SURNAMES)] + GIVEN_NAMES[(n * 11) % len(GIVEN_NAMES)]


# --------------------------------------------------------------------------------------------------------
# Organisations, users, programs, metrics, activity types
# --------------------------------------------------------------------------------------------------------

# (key, parent key, name, short name, kind, address)
ORGS = (
    # seed 000 双联双助
    ("zs_zzb", None, "中山市委组织部", "市委组织部", OK.GOVERNMENT, "广东省中山市"),
    ("zs_jgw", None, "中山市教育工委", "市教育工委", OK.GOVERNMENT, "广东省中山市"),
    ("zszz", None, "中山市中等专业学校", "中山中专", OK.SCHOOL, "广东省中山市"),
    ("zszz_pc", "zszz", "中山市中等专业学校党委", "中山中专党委", OK.PARTY_COMMITTEE, ""),
    ("zszz_b1", "zszz", "第一党支部", "中山中专第一党支部", OK.BRANCH, ""),
    ("zszz_b2", "zszz", "第二党支部", "中山中专第二党支部", OK.BRANCH, ""),
    ("zszz_b3", "zszz", "第三党支部", "中山中专第三党支部", OK.BRANCH, ""),
    ("zszz_b4", "zszz", "第四党支部", "中山中专第四党支部", OK.BRANCH, ""),
    ("zszz_b5", "zszz", "第五党支部", "中山中专第五党支部", OK.BRANCH, ""),
    ("zszz_b6", "zszz", "第六党支部", "港口校区第六党支部", OK.BRANCH, "中山中专港口校区(中山市港口镇)"),
    ("zszz_design", "zszz", "创意设计部", "", OK.DEPARTMENT, ""),
    ("zszz_service", "zszz", "现代服务业部", "", OK.DEPARTMENT, ""),
    ("zszz_it", "zszz", "信息技术部", "", OK.DEPARTMENT, ""),
    ("zszz_mfg", "zszz", "制造部", "", OK.DEPARTMENT, ""),
    ("wgs", None, "五桂山街道", "", OK.SUBDISTRICT, "广东省中山市五桂山街道"),
    ("longshi", "wgs", "龙石村", "", OK.VILLAGE, "中山市五桂山街道龙石村"),
    ("gangkou", None, "港口镇", "", OK.TOWN, "广东省中山市港口镇"),
    # seed 001 党员进社区
    ("gzcv", None, "广州城市职业学院", "广州城职院", OK.COLLEGE, "广东省广州市"),
    ("gzcv_pc", "gzcv", "广州城市职业学院党委", "城职院党委", OK.PARTY_COMMITTEE, ""),
    ("gzcv_it", "gzcv", "信息技术教工党支部", "", OK.BRANCH, ""),
    ("gzcv_food", "gzcv", "食品营养教工党支部", "", OK.BRANCH, ""),
    ("gzcv_build", "gzcv", "建筑工程教工党支部", "", OK.BRANCH, ""),
    ("gzcv_art", "gzcv", "艺术设计教工党支部", "", OK.BRANCH, ""),
    ("gzcv_cc", "gzcv", "广州社区学院", "", OK.DEPARTMENT, ""),
    ("tianxin", None, "田心村", "", OK.VILLAGE, "广东省广州市增城区"),
    ("xiyang", None, "西阳镇", "", OK.TOWN, "广东省梅州市梅县区"),
    # seed 002 党建共同体
    ("jhc", None, "金华职业技术学院", "金华职院", OK.COLLEGE, "浙江省金华市"),
    ("jhc_mks", "jhc", "公共基础学院(马克思主义学院)", "马院", OK.DEPARTMENT, ""),
    ("jhc_pc", "jhc_mks", "公共基础学院(马克思主义学院)党委", "马院党委", OK.PARTY_COMMITTEE, ""),
    ("jhc_b1", "jhc_mks", "马克思主义理论教工党支部", "", OK.BRANCH, ""),
    ("jhc_b2", "jhc_mks", "公共基础课教工党支部", "", OK.BRANCH, ""),
    ("jhc_b3", "jhc_mks", "学生党支部", "马院学生党支部", OK.BRANCH, ""),
    ("jiangnan", None, "江南街道", "", OK.SUBDISTRICT, "浙江省金华市"),
    ("jiangnan_pc", "jiangnan", "江南街道党工委", "", OK.PARTY_COMMITTEE, ""),
    # The seed names no community; these three take the names of its “一所三站” stations.
    ("hemuli", "jiangnan", "和睦里社区", "", OK.COMMUNITY, "金华市江南街道"),
    ("qingfengli", "jiangnan", "清风里社区", "", OK.COMMUNITY, "金华市江南街道"),
    ("xingfuli", "jiangnan", "幸福里社区", "", OK.COMMUNITY, "金华市江南街道"),
    # seed 003 两建三做
    ("sjgw", None, "市委市直机关工委", "市直机关工委", OK.GOVERNMENT, "云南省保山市"),
    ("sjgw_b1", "sjgw", "机关第一党支部", "工委机关第一党支部", OK.BRANCH, ""),
    ("sjgw_b2", "sjgw", "机关第二党支部", "工委机关第二党支部", OK.BRANCH, ""),
    ("longshan", None, "龙山镇", "", OK.TOWN, "云南省保山市龙陵县"),
    ("yinzhaochang", "longshan", "尹兆场社区", "", OK.COMMUNITY, "龙陵县龙山镇尹兆场社区"),
)
ORG_CONTACTS = {
    "longshi": ("李国强", phone(1)),
    "tianxin": ("何秀玲", phone(2)),
    "yinzhaochang": ("尹德明", phone(3)),
    "hemuli": ("方美华", phone(4)),
}

# (username, full name, org key, role, membership title, is_superuser)
USERS = (
    ("admin", "周启明", "zs_jgw", Membership.Role.ADMIN, "双联双助项目管理员", True),
    ("zszz", "黄丽娟", "zszz", Membership.Role.COMMITTEE, "中山中专党委委员", False),
    ("secretary3", "陈晓东", "zszz_b3", Membership.Role.SECRETARY, "第三党支部书记", False),
    ("secretary4", "梁慧敏", "zszz_b4", Membership.Role.SECRETARY, "第四党支部书记", False),
    ("longshi", "李国强", "longshi", Membership.Role.VILLAGE_COMMITTEE, "龙石村两委委员", False),
    ("tianxin", "何志明", "tianxin", Membership.Role.VILLAGE_COMMITTEE, "田心村两委委员", False),
)
DEMO_USERNAMES = tuple(u[0] for u in USERS)

# (code, name, office org key, description)
PROGRAMS = (
    (
        "slsz",
        "双联双助",
        "zs_jgw",
        "中山市委组织部万名党员干部“入镇下村”行动:全市企事业单位党组织与村(社区)党组织结对,助推村(社区)抓党建促"
        "发展。学校按中山市教育工委的工作指引制定专项工作方案和项目实施清单。",
    ),
    (
        "dyjsq",
        "党员进社区",
        "gzcv_pc",
        "广州城市职业学院依托“广州社区学院”平台,以“党建联建”为牵引,通过结对共建、资源共享与治理联动,为社区和"
        "乡村提供技能培训、技术服务和党性教育。",
    ),
    (
        "djgtt",
        "党建共同体",
        "jhc_pc",
        "金华职业技术学院公共基础学院(马克思主义学院)党委与江南街道党工委及其社区共建党建共同体:组织共联、行动"
        "共进、校社共建、成果共享;定期召开党建联席会议,“一月一提示,一季一调度”。",
    ),
    (
        "ljsz",
        "两建三做",
        "sjgw",
        "市委市直机关工委在龙陵县龙山镇尹兆场社区构筑“1+5+9”党群服务站点,建站点、建小组,做个案、做服务、做活动,"
        "以机关党建助力乡村振兴(入选“全国第六届基层党建创新优秀案例”)。",
    ),
)
DEMO_PROGRAM_CODES = tuple(p[0] for p in PROGRAMS)

MU = Metric.Unit
SUM, SNAP = Metric.Aggregation.SUM, Metric.Aggregation.SNAPSHOT

# program code → [(metric code, name, unit, aggregation, description)]
METRICS = {
    "slsz": [
        ("appliance_repairs", "家电维修", MU.ITEMS, SUM, "“小电匠”项目维修的电器"),
        ("ebike_services", "电动车维护保养", MU.ITEMS, SUM, "电动车安全检测与维护保养的车辆"),
        ("bp_checks", "血压检测", MU.PERSON_TIMES, SUM, ""),
        ("antifraud_reach", "反诈宣传", MU.PERSON_TIMES, SUM, "现场听取反诈宣传的群众"),
        ("manhole_covers", "彩绘井盖", MU.ITEMS, SUM, "“井上添画”彩绘的沙井盖"),
        ("cleanup_area", "环境整治面积", MU.SQUARE_METRES, SUM, "“三清三拆三整治”清理整治的面积"),
        ("lecture_audience", "宣讲受众", MU.PERSON_TIMES, SUM, ""),
        ("children_served", "服务儿童", MU.PERSON_TIMES, SUM, "财商课堂、艺术启蒙、亲子课堂、绘本阅读"),
        ("elderly_served", "关爱老人与残疾人", MU.PERSON_TIMES, SUM, ""),
        ("job_consultations", "就业创业政策咨询", MU.PERSON_TIMES, SUM, ""),
    ],
    "dyjsq": [
        ("iot_sensors", "布设物联网传感器", MU.ITEMS, SUM, "柠檬园墒情监测"),
        ("smart_irrigation_area", "智慧灌溉覆盖面积", MU.MU, SNAP, "AI灌溉模型覆盖的柠檬园面积"),
        ("villagers_trained", "培训村民", MU.PERSON_TIMES, SUM, "短视频与直播、面点、建筑工匠等技能培训"),
        ("training_sessions", "技能培训", MU.SESSIONS, SUM, ""),
        ("ecommerce_sales", "电商助农销售额", MU.TEN_THOUSAND_YUAN, SUM, ""),
        ("lecture_audience", "宣讲受众", MU.PERSON_TIMES, SUM, ""),
        ("bridges_inspected", "乡村桥梁检测与修缮设计", MU.ITEMS, SUM, "单位“座”,按件计"),
        ("teachers_coached", "指导青年教师", MU.PERSONS, SUM, ""),
    ],
    "djgtt": [
        ("joint_meetings", "党建联席会议", MU.SESSIONS, SUM, "一季一调度"),
        ("party_lessons", "情景党课与主题党课", MU.SESSIONS, SUM, ""),
        ("volunteer_services", "志愿服务", MU.PERSON_TIMES, SUM, "捡拾垃圾、清扫楼道、文明劝导"),
        ("disputes_mediated", "调解矛盾纠纷", MU.ITEMS, SUM, ""),
        ("residents_served", "点单式服务居民", MU.PERSON_TIMES, SUM, ""),
        ("renovated_area", "美化改造面积", MU.SQUARE_METRES, SUM, "建筑外立面、口袋公园、主题文化广场"),
        ("grid_members", "专兼职网格员", MU.PERSONS, SNAP, "“网格微哨”四级网格"),
    ],
    "ljsz": [
        ("funds_raised", "协调资金", MU.TEN_THOUSAND_YUAN, SUM, ""),
        ("tech_trainings", "产业科技培训", MU.SESSIONS, SUM, ""),
        ("tech_trainees", "产业科技培训人数", MU.PERSONS, SUM, ""),
        ("tech_tutors", "培养农村科技辅导员", MU.PERSONS, SUM, ""),
        ("demo_base_area", "中药材种植科技示范基地", MU.MU, SUM, ""),
        ("new_varieties", "石斛优良品种授权登记", MU.ITEMS, SUM, ""),
        ("leadgoose_sessions", "“领头雁”培养与家庭教育指导", MU.SESSIONS, SUM, ""),
        ("leadgoose_trainees", "“领头雁”培养学员", MU.PERSONS, SUM, ""),
        ("mediators_trained", "培养“领头雁”调解员", MU.PERSONS, SUM, ""),
        ("disputes_mediated", "调解矛盾纠纷", MU.ITEMS, SUM, ""),
        ("speech_contests", "儿童主题演讲比赛", MU.SESSIONS, SUM, ""),
        ("summer_camps", "“向阳小葵花”素质拓展夏令营", MU.SESSIONS, SUM, ""),
        ("children_visited", "走访留守儿童", MU.PERSONS, SUM, ""),
        ("case_services", "个案服务", MU.SESSIONS, SUM, ""),
        ("group_activities", "小组活动", MU.SESSIONS, SUM, ""),
        ("children_served", "服务儿童", MU.PERSON_TIMES, SUM, ""),
        ("residents_served", "服务群众", MU.PERSONS, SUM, ""),
        ("cleanups", "人居环境整治与河湖沟渠清理", MU.SESSIONS, SUM, ""),
        ("dendrobium_planted", "仿野生种植石斛", MU.PLANTS, SUM, "入村道路沿线“县花上树”"),
        ("courtyard_greening", "中药材盆景装点庭院", MU.SQUARE_METRES, SUM, ""),
        ("herbs_planted", "林下种植中草药", MU.MU, SUM, "石斛、重楼、黄精等"),
        ("per_capita_income", "人均纯收入", MU.YUAN, SNAP, "社区全年人均纯收入"),
    ],
}

# (code, name): the design's ten plus the ones the seeds need (技术服务, 矛盾调解, 关爱服务). "volunteer-service"
# is the code the test factories use too.
ACTIVITY_TYPES = (
    ("theme-party-day", "主题党日"),
    ("joint-meeting", "联席会议"),
    ("lecture", "宣讲"),
    ("volunteer-service", "志愿服务"),
    ("environment", "环境整治"),
    ("skills-training", "技能培训"),
    ("resident-service", "便民服务"),
    ("culture", "文化活动"),
    ("industry-support", "产业帮扶"),
    ("visit-survey", "走访调研"),
    ("tech-service", "技术服务"),
    ("mediation", "矛盾调解"),
    ("care-service", "关爱服务"),
)
DEMO_ACTIVITY_TYPE_CODES = tuple(t[0] for t in ACTIVITY_TYPES)

# --------------------------------------------------------------------------------------------------------
# Pairings, liaisons, joint plans
# --------------------------------------------------------------------------------------------------------

# key → (program, supporter, supported, signed, term start, term end, branches, goals)
PAIRINGS = {
    "LS": (
        "slsz", "zszz", "longshi", "2023-03-16", "2023-03-16", "2025-12-31",
        ["zszz_pc", "zszz_b1", "zszz_b2", "zszz_b3", "zszz_b4", "zszz_b5"],
        "坚持党建引领,构建“专业+文化+产业+党建”多维赋能双联双助新模式;建立常态化联系工作机制,安排专人负责联络,"
        "共同商讨结对共建各项工作;助力龙石村“三清三拆三整治”和“示范引领”工程,在集创夜市开展党员服务集市,"
        "把志愿服务融入专业课程,用所学技能服务群众。",
    ),
    "GK": (
        "slsz", "zszz", "gangkou", "2023-04-10", "2023-04-10", "2025-12-31",
        ["zszz_b6", "zszz_b2", "zszz_b1"],
        "港口校区第六党支部以党建引领助推港口镇高质量发展:服务青年创业就业,解读创业就业政策,引导“40+”大龄就业者"
        "精准就业,支持“香山工匠杯”等技能赛事;“小电匠”家电义修进港口。",
    ),
    "TX": (
        "dyjsq", "gzcv", "tianxin", "2023-03-28", "2023-03-28", "2025-12-31",
        ["gzcv_pc", "gzcv_it", "gzcv_food", "gzcv_build", "gzcv_art"],
        "打造“科技红芯”党建品牌,组织“物联智行”先锋队帮扶田心村柠檬产业:研发智慧农业系统,布设物联网传感器监测墒情,"
        "开发AI灌溉模型,搭建电商平台,培训村民短视频与直播技巧;开展特色农产品精深加工、面点和建筑工匠培训。",
    ),
    "XY": (
        "dyjsq", "gzcv", "xiyang", "2023-05-20", "2023-05-20", "2025-12-31",
        ["gzcv_build", "gzcv_it"],
        "以“双带头人”教师党支部书记“强国行”团队为核心,精准对接乡村教育、生态治理和基建安全等需求;"
        "全国教学大赛获奖团队指导当地青年教师,助力乡村教育振兴。",
    ),
    "JN": (
        "djgtt", "jhc_mks", "jiangnan", "2023-02-24", "2023-02-24", "2025-12-31",
        ["jhc_pc", "jhc_b1", "jhc_b2", "jhc_b3"],
        "组织共联、行动共进、校社共建、成果共享:建立党建一体化体系,定期召开党建联席会议,按照“一月一提示,一季一调度”"
        "加强沟通;协助推进“阵地功能提档计划”和“网格微哨”四级网格治理;认领群众“微心愿”。",
    ),
    "HML": (
        "djgtt", "jhc_mks", "hemuli", "2023-03-10", "2023-03-10", "2025-12-31",
        ["jhc_b1", "jhc_b2", "jhc_b3"],
        "联合社区打造有温度的“有声党建”品牌:有声读书卡、“音乐与信仰”“音乐与党史”情景党课长廊、“红歌角”、"
        "党建音频微课堂;优化居民点单式服务,支持玉帛党员志愿调解团和“苑大妈”文明劝导小分队。",
    ),
    "YZC": (
        "ljsz", "sjgw", "yinzhaochang", "2022-03-01", "2022-03-01", "2026-12-31",
        ["sjgw_b1", "sjgw_b2"],
        "把办公室搬到基层一线,将机关党建项目化、清单化、具体化:构筑“1+5+9”党群服务站点,建站点、建小组,做个案、"
        "做服务、做活动;科技赋能产业振兴、头雁赋能人才振兴、民风赋能文化振兴、服务赋能生态振兴。",
    ),
}

# pairing → [(side, name, title, phone number seed, user, e-mail)]
LIAISONS = {
    "LS": [
        ("supporter", "刘志华", "中山中专党委办公室主任", 11, None, f"liuzhihua@{DEMO_EMAIL_DOMAIN}"),
        ("supported", "李国强", "龙石村党总支副书记", 1, "longshi", f"longshi@{DEMO_EMAIL_DOMAIN}"),
    ],
    "GK": [
        ("supporter", "郑晓峰", "港口校区第六党支部书记", 12, None, ""),
        ("supported", "麦嘉欣", "港口镇党建工作办公室", 13, None, ""),
    ],
    "TX": [
        ("supporter", "罗文斌", "城职院党委组织部", 14, None, f"luowenbin@{DEMO_EMAIL_DOMAIN}"),
        ("supporter", "许佳怡", "信息技术教工党支部书记", 15, None, ""),
        ("supported", "何秀玲", "田心村党支部委员", 2, None, ""),
    ],
    "XY": [
        ("supporter", "张建国", "建筑工程教工党支部书记", 16, None, ""),
        ("supported", "温志坚", "西阳镇党政办", 17, None, ""),
    ],
    "JN": [
        ("supporter", "吴晓芸", "马院党委副书记", 18, None, f"wuxiaoyun@{DEMO_EMAIL_DOMAIN}"),
        ("supported", "楼建平", "江南街道党工委组织委员", 19, None, ""),
    ],
    "HML": [
        ("supporter", "陈思雨", "马院学生党支部书记", 20, None, ""),
        ("supported", "方美华", "和睦里社区党组织书记", 4, None, ""),
    ],
    "YZC": [
        ("supporter", "杨国华", "市直机关工委组织部", 21, None, ""),
        ("supported", "尹德明", "尹兆场社区党总支书记", 3, None, ""),
    ],
}

VILLAGE_USER = {"LS": "longshi", "TX": "tianxin"}
PC = PlanItem.Category
PS = PlanItem.Status

# (pairing, year) → [(title, category, owner branch, due "MM-DD", status, progress or None, {metric: target}, counterpart)]
# progress None: derived from the linked activities' figures (done → 100, planned → 0).
PLAN_ITEMS = {
    ("LS", 2023): [
        ("签订结对共建协议、建立常态化联系机制", PC.PARTY_BUILDING, "zszz_pc", "03-31", PS.DONE, 100, {}, "村党总支"),
        ("召开双联双助行动联席会", PC.PARTY_BUILDING, "zszz_pc", "12-31", PS.DONE, 100, {}, "村党总支"),
        ("“小电匠”家电维修进村", PC.SERVICE, "zszz_b2", "12-31", PS.DONE, None, {"appliance_repairs": 20}, "村委会"),
        ("电动车安全检测与维护保养", PC.SERVICE, "zszz_b1", "06-30", PS.DONE, None, {"ebike_services": 20}, "村委会"),
        ("助力“三清三拆三整治”百日攻坚", PC.ENVIRONMENT, "zszz_b1", "09-30", PS.DONE, None, {"cleanup_area": 4000}, "村委会"),
        ("主题党日联学:宣讲党的二十大精神", PC.PARTY_BUILDING, "zszz_b5", "10-31", PS.DONE, None, {"lecture_audience": 60}, "村党总支"),
        ("“井上添画”美化紫坭环公园", PC.ENVIRONMENT, "zszz_b3", "11-30", PS.DONE, None, {"manhole_covers": 15}, "村委会"),
        ("财商课堂进社区", PC.EDUCATION, "zszz_b4", "12-31", PS.DONE, None, {"children_served": 40}, "五桂山街道新时代文明实践中心"),
        ("艺术启蒙暑期课堂", PC.CULTURE, "zszz_b3", "08-31", PS.DONE, None, {"children_served": 30}, "村妇联"),
        ("关爱老人与残疾人志愿服务", PC.SERVICE, "zszz_b4", "10-31", PS.DONE, None, {"elderly_served": 40}, "村委会"),
        ("集创夜市党员服务集市", PC.SERVICE, "zszz_b2", "12-31", PS.DONE, None, {"bp_checks": 50}, "村委会"),
        ("龙石村农产品包装设计", PC.INDUSTRY, "zszz_b3", "12-31", PS.CANCELLED, 0, {}, "村集体经济合作社"),
    ],
    ("LS", 2024): [
        ("召开季度联席会", PC.PARTY_BUILDING, "zszz_pc", "12-31", PS.IN_PROGRESS, 75, {}, "村党总支"),
        ("“小电匠”家电维修进村", PC.SERVICE, "zszz_b2", "12-31", PS.IN_PROGRESS, None, {"appliance_repairs": 50}, "村委会"),
        ("集创夜市党员服务集市(常态化)", PC.SERVICE, "zszz_b2", "10-31", PS.DONE, None, {"bp_checks": 100, "antifraud_reach": 250}, "村委会"),
        ("电动车安全检测与维护保养", PC.SERVICE, "zszz_b1", "06-30", PS.IN_PROGRESS, None, {"ebike_services": 40}, "村委会"),
        ("巩固“三清三拆三整治”成果", PC.ENVIRONMENT, "zszz_b5", "08-31", PS.DONE, None, {"cleanup_area": 3500}, "村委会"),
        ("艺术启蒙与亲子课堂", PC.CULTURE, "zszz_b3", "08-31", PS.DONE, None, {"children_served": 80}, "村妇联"),
        ("财商课堂进社区", PC.EDUCATION, "zszz_b4", "12-31", PS.IN_PROGRESS, None, {"children_served": 120}, "五桂山街道新时代文明实践中心"),
        ("宣讲党的二十届三中全会精神", PC.PARTY_BUILDING, "zszz_b5", "11-30", PS.DONE, None, {"lecture_audience": 60}, "村党总支"),
        ("中秋敬老志愿服务", PC.SERVICE, "zszz_b4", "09-30", PS.DONE, None, {"elderly_served": 50}, "村老年人协会"),
        ("村小学门口沙井盖彩绘", PC.ENVIRONMENT, "zszz_b3", "12-31", PS.PLANNED, 0, {}, "村委会"),
    ],
    ("GK", 2023): [
        ("签订结对共建协议", PC.PARTY_BUILDING, "zszz_b6", "04-30", PS.DONE, 100, {}, "镇党建办"),
        ("2023年青年创业集市志愿服务", PC.SERVICE, "zszz_b6", "10-31", PS.DONE, None, {"job_consultations": 100}, "镇人社分局"),
        ("“小电匠”家电义修进港口", PC.SERVICE, "zszz_b2", "12-31", PS.DONE, None, {"appliance_repairs": 6}, "镇新时代文明实践所"),
    ],
    ("GK", 2024): [
        ("“小电匠”家电义修进港口", PC.SERVICE, "zszz_b2", "12-31", PS.DONE, None, {"appliance_repairs": 12}, "镇新时代文明实践所"),
        ("青年就业创业服务", PC.SERVICE, "zszz_b6", "10-31", PS.DONE, None, {"job_consultations": 80}, "镇人社分局"),
        ("电动车安全检测进港口", PC.SERVICE, "zszz_b1", "12-31", PS.DONE, None, {"ebike_services": 15}, "镇新时代文明实践所"),
        ("“香山工匠杯”赛前技能辅导", PC.EDUCATION, "zszz_b6", "12-31", PS.PLANNED, 0, {}, "镇总工会"),
    ],
    ("TX", 2023): [
        ("校地党组织结对共建签约", PC.PARTY_BUILDING, "gzcv_pc", "03-31", PS.DONE, 100, {}, "村党支部"),
        ("主题党日+田间调研", PC.PARTY_BUILDING, "gzcv_food", "12-31", PS.DONE, 100, {}, "村党支部"),
        ("物联网传感器布设与墒情监测", PC.INDUSTRY, "gzcv_it", "06-30", PS.DONE, None, {"iot_sensors": 30}, "柠檬种植合作社"),
        ("AI灌溉模型试运行", PC.INDUSTRY, "gzcv_it", "10-31", PS.DONE, None, {"smart_irrigation_area": 100}, "柠檬种植合作社"),
        ("短视频与直播技巧培训", PC.EDUCATION, "gzcv_it", "12-31", PS.DONE, None, {"villagers_trained": 75}, "村委会"),
        ("特色农产品精深加工及面点技能培训", PC.EDUCATION, "gzcv_food", "09-30", PS.DONE, None, {"villagers_trained": 30}, "村妇联"),
        ("柠檬电商平台搭建", PC.INDUSTRY, "gzcv_it", "12-31", PS.DONE, None, {"ecommerce_sales": 5}, "柠檬种植合作社"),
        ("“梦想激励人生”励志讲座", PC.CULTURE, "gzcv_art", "11-30", PS.DONE, None, {"lecture_audience": 80}, "村委会"),
    ],
    ("TX", 2024): [
        ("主题党日+田间调研(每月一次)", PC.PARTY_BUILDING, "gzcv_it", "12-31", PS.IN_PROGRESS, 92, {}, "村党支部"),
        ("物联网传感器扩容", PC.INDUSTRY, "gzcv_it", "06-30", PS.DONE, None, {"iot_sensors": 25}, "柠檬种植合作社"),
        ("智慧灌溉覆盖扩面", PC.INDUSTRY, "gzcv_it", "10-31", PS.DONE, None, {"smart_irrigation_area": 250}, "柠檬种植合作社"),
        ("短视频与直播技巧培训", PC.EDUCATION, "gzcv_it", "12-31", PS.IN_PROGRESS, None, {"villagers_trained": 150}, "村委会"),
        ("电商直播助农", PC.INDUSTRY, "gzcv_it", "12-31", PS.IN_PROGRESS, None, {"ecommerce_sales": 40}, "柠檬种植合作社"),
        ("建筑工匠培训(砌筑工、钢筋工)", PC.EDUCATION, "gzcv_build", "06-30", PS.DONE, None, {"villagers_trained": 40}, "村委会"),
        ("非遗面点传承", PC.CULTURE, "gzcv_food", "03-31", PS.DONE, 100, {}, "村妇联"),
        ("柠檬深加工产品包装设计", PC.INDUSTRY, "gzcv_art", "12-31", PS.IN_PROGRESS, 40, {}, "柠檬种植合作社"),
    ],
    ("XY", 2023): [
        ("驻点帮扶调研", PC.GOVERNANCE, "gzcv_build", "08-31", PS.DONE, 100, {}, "镇党政办"),
        ("指导梅县一职青年教师参赛", PC.EDUCATION, "gzcv_it", "12-31", PS.DONE, None, {"teachers_coached": 12}, "镇教育指导中心"),
    ],
    ("XY", 2024): [
        ("灾后乡村桥梁数字化检测与修缮设计", PC.GOVERNANCE, "gzcv_build", "08-31", PS.DONE, None, {"bridges_inspected": 9}, "镇农业农村办"),
        ("青年教师教学能力提升", PC.EDUCATION, "gzcv_it", "12-31", PS.IN_PROGRESS, None, {"teachers_coached": 20}, "镇教育指导中心"),
        ("村级道路排水沟设计咨询", PC.GOVERNANCE, "gzcv_build", "12-31", PS.PLANNED, 0, {}, "镇农业农村办"),
    ],
    ("JN", 2023): [
        ("建立党建联席会议制度(一季一调度)", PC.PARTY_BUILDING, "jhc_pc", "12-31", PS.DONE, None, {"joint_meetings": 4}, "街道党工委"),
        ("“阵地功能提档计划”", PC.GOVERNANCE, "jhc_b2", "06-30", PS.DONE, 100, {}, "街道党群服务中心"),
        ("银龄党员文明服务队联合志愿服务", PC.SERVICE, "jhc_b3", "12-31", PS.DONE, None, {"volunteer_services": 36}, "银龄党员文明服务队"),
    ],
    ("JN", 2024): [
        ("党建联席会议(一季一调度)", PC.PARTY_BUILDING, "jhc_pc", "12-31", PS.IN_PROGRESS, None, {"joint_meetings": 4}, "街道党工委"),
        ("“网格微哨”四级网格治理", PC.GOVERNANCE, "jhc_b2", "06-30", PS.DONE, None, {"grid_members": 80}, "街道综治中心"),
        ("口袋公园与主题文化广场美化改造", PC.ENVIRONMENT, "jhc_b3", "09-30", PS.DONE, None, {"renovated_area": 1500}, "街道城建办"),
        ("银龄党员文明服务队联合志愿服务", PC.SERVICE, "jhc_b3", "12-31", PS.IN_PROGRESS, None, {"volunteer_services": 120}, "银龄党员文明服务队"),
        ("“社区问题我发现”主题活动", PC.GOVERNANCE, "jhc_b1", "10-31", PS.DONE, 100, {}, "各社区"),
    ],
    ("HML", 2023): [
        ("“有声党建”品牌建设", PC.CULTURE, "jhc_b1", "12-31", PS.DONE, None, {"party_lessons": 2}, "社区党组织"),
        ("居民点单式服务", PC.SERVICE, "jhc_b2", "12-31", PS.DONE, None, {"residents_served": 60}, "社区居委会"),
        ("银龄党员文明服务队联合志愿服务", PC.SERVICE, "jhc_b3", "12-31", PS.DONE, None, {"volunteer_services": 50}, "银龄党员文明服务队"),
    ],
    ("HML", 2024): [
        ("“红歌角”与党建音频微课堂", PC.CULTURE, "jhc_b1", "07-31", PS.DONE, None, {"party_lessons": 2}, "社区党组织"),
        ("玉帛党员志愿调解", PC.GOVERNANCE, "jhc_b1", "12-31", PS.IN_PROGRESS, None, {"disputes_mediated": 12}, "玉帛党员志愿调解团"),
        ("区校联合主题党日", PC.PARTY_BUILDING, "jhc_b2", "10-31", PS.DONE, 100, {}, "社区党组织"),
        ("居民点单式服务", PC.SERVICE, "jhc_b2", "12-31", PS.DONE, None, {"residents_served": 80}, "社区居委会"),
        ("银龄党员文明服务队联合志愿服务", PC.SERVICE, "jhc_b3", "12-31", PS.IN_PROGRESS, None, {"volunteer_services": 120}, "银龄党员文明服务队"),
        ("“苑大妈”文明劝导", PC.SERVICE, "jhc_b3", "06-30", PS.DONE, 100, {}, "“苑大妈”文明劝导小分队"),
    ],
    ("YZC", 2023): [
        ("协调项目资金", PC.INDUSTRY, "sjgw_b2", "12-31", PS.DONE, None, {"funds_raised": 150}, "社区党总支"),
        ("产业科技培训", PC.INDUSTRY, "sjgw_b2", "12-31", PS.DONE, None, {"tech_trainings": 4, "tech_trainees": 200}, "新时代科技特派员服务站"),
        ("中药材种植科技示范基地", PC.INDUSTRY, "sjgw_b2", "10-31", PS.DONE, None, {"demo_base_area": 100}, "新时代科技特派员服务站"),
        ("培养农村科技辅导员", PC.EDUCATION, "sjgw_b2", "09-30", PS.DONE, None, {"tech_tutors": 25}, "新时代科技特派员服务站"),
        ("“领头雁”培养计划", PC.EDUCATION, "sjgw_b1", "12-31", PS.DONE, None, {"leadgoose_sessions": 12, "leadgoose_trainees": 700}, "新时代农民讲习所"),
        ("“领头雁”调解员培养与矛盾调解", PC.GOVERNANCE, "sjgw_b1", "12-31", PS.DONE, None, {"mediators_trained": 10, "disputes_mediated": 8}, "社区综治中心"),
        ("关爱留守儿童“爱心护蕾行动”", PC.SERVICE, "sjgw_b1", "12-31", PS.DONE, None, {"case_services": 15, "children_served": 450}, "家庭教育指导中心"),
        ("人居环境整治与河湖沟渠清理", PC.ENVIRONMENT, "sjgw_b2", "12-31", PS.DONE, None, {"cleanups": 12}, "9支志愿者队伍"),
        ("“县花上树”仿野生种植石斛", PC.ENVIRONMENT, "sjgw_b1", "12-31", PS.DONE, None, {"dendrobium_planted": 5000}, "社区党总支"),
        ("耕地保护与林下中草药种植", PC.INDUSTRY, "sjgw_b2", "12-31", PS.DONE, None, {"herbs_planted": 600}, "社区党总支"),
    ],
    ("YZC", 2024): [
        ("协调项目资金", PC.INDUSTRY, "sjgw_b2", "12-31", PS.DONE, None, {"funds_raised": 150}, "社区党总支"),
        ("产业科技培训", PC.INDUSTRY, "sjgw_b2", "10-31", PS.DONE, None, {"tech_trainings": 3, "tech_trainees": 180}, "新时代科技特派员服务站"),
        ("中药材种植科技示范基地扩建", PC.INDUSTRY, "sjgw_b2", "06-30", PS.DONE, None, {"demo_base_area": 80}, "新时代科技特派员服务站"),
        ("石斛优良品种授权登记", PC.INDUSTRY, "sjgw_b2", "09-30", PS.DONE, None, {"new_varieties": 2}, "新时代科技特派员服务站"),
        ("培养农村科技辅导员", PC.EDUCATION, "sjgw_b2", "09-30", PS.DONE, None, {"tech_tutors": 25}, "新时代科技特派员服务站"),
        ("“领头雁”培养计划", PC.EDUCATION, "sjgw_b1", "12-31", PS.IN_PROGRESS, None, {"leadgoose_sessions": 12, "leadgoose_trainees": 900}, "新时代农民讲习所"),
        ("“领头雁”调解员培养与矛盾调解", PC.GOVERNANCE, "sjgw_b1", "12-31", PS.IN_PROGRESS, None, {"mediators_trained": 10, "disputes_mediated": 15}, "社区综治中心"),
        ("关爱留守儿童“爱心护蕾行动”", PC.SERVICE, "sjgw_b1", "12-31", PS.IN_PROGRESS, None, {"case_services": 20, "children_served": 800}, "家庭教育指导中心"),
        ("人居环境整治与河湖沟渠清理", PC.ENVIRONMENT, "sjgw_b2", "12-31", PS.DONE, None, {"cleanups": 15}, "9支志愿者队伍"),
        ("“县花上树”仿野生种植石斛", PC.ENVIRONMENT, "sjgw_b1", "06-30", PS.DONE, None, {"dendrobium_planted": 5000}, "社区党总支"),
        ("中药材盆景装点庭院", PC.ENVIRONMENT, "sjgw_b1", "10-31", PS.DONE, None, {"courtyard_greening": 1800}, "社区妇联"),
        ("耕地保护与林下中草药种植", PC.INDUSTRY, "sjgw_b2", "12-31", PS.IN_PROGRESS, None, {"herbs_planted": 1500}, "社区党总支"),
    ],
}

# --------------------------------------------------------------------------------------------------------
# Volunteers and teams
# --------------------------------------------------------------------------------------------------------

VK = Volunteer.Kind

# org key → [(kind, is party member, count, note)]; names are generated, except the named ones below.
VOLUNTEER_GROUPS = {
    "zszz_b1": [(VK.TEACHER, True, 5, "党员教师")],
    "zszz_b2": [(VK.TEACHER, True, 5, "党员教师")],
    "zszz_b3": [(VK.TEACHER, True, 5, "党员教师")],
    "zszz_b4": [(VK.TEACHER, True, 5, "党员教师")],
    "zszz_b5": [(VK.TEACHER, True, 4, "党员教师")],
    "zszz_b6": [(VK.TEACHER, True, 5, "港口校区党员教师")],
    "zszz_design": [(VK.TEACHER, False, 3, "艺术设计专业教师"), (VK.STUDENT, False, 8, "艺术设计、幼儿保育专业学生")],
    "zszz_service": [(VK.TEACHER, False, 3, ""), (VK.STUDENT, False, 8, "")],
    "zszz_it": [(VK.TEACHER, False, 3, "电子技术专业教师"), (VK.STUDENT, False, 10, "“小电匠”队员")],
    "zszz_mfg": [(VK.TEACHER, False, 3, "汽车运用与维修专业教师"), (VK.STUDENT, False, 8, "")],
    "longshi": [(VK.RESIDENT, True, 2, "村民党员"), (VK.RESIDENT, False, 4, "村民代表")],
    "gangkou": [(VK.RESIDENT, False, 3, "")],
    "gzcv_it": [(VK.TEACHER, True, 5, "“物联智行”先锋队")],
    "gzcv_food": [(VK.TEACHER, True, 5, "“科技特派团”")],
    "gzcv_build": [(VK.TEACHER, True, 5, "")],
    "gzcv_art": [(VK.TEACHER, True, 5, "“赋美于瓷”团队")],
    "gzcv": [(VK.STUDENT, False, 10, "高职学生志愿者")],
    "tianxin": [(VK.RESIDENT, True, 1, "村民党员"), (VK.RESIDENT, False, 4, "柠檬种植户")],
    "xiyang": [(VK.RESIDENT, False, 3, "")],
    "jhc_b1": [(VK.TEACHER, True, 5, "思政课教师")],
    "jhc_b2": [(VK.TEACHER, True, 5, "")],
    "jhc_b3": [(VK.STUDENT, True, 8, "学生党员")],
    "jiangnan": [(VK.PARTY_MEMBER, True, 8, "退休党员"), (VK.PARTY_MEMBER, True, 4, "调解员")],
    "hemuli": [(VK.RESIDENT, False, 4, "“苑大妈”文明劝导员"), (VK.RESIDENT, True, 2, "")],
    "sjgw_b1": [(VK.PARTY_MEMBER, True, 5, "机关干部")],
    "sjgw_b2": [(VK.PARTY_MEMBER, True, 5, "机关干部")],
    "sjgw": [(VK.OTHER, False, 4, "社工师")],
    "yinzhaochang": [(VK.RESIDENT, True, 4, "社区党员"), (VK.RESIDENT, False, 6, "志愿者"), (VK.RESIDENT, False, 4, "“领头雁”调解员")],
}
# Named in the seeds: (org key, name, kind, party member, note)
NAMED_VOLUNTEERS = (("zszz_b5", "贾珍", VK.TEACHER, True, "第五党支部党员教师,宣讲党的二十大精神"),)

# key → (org, name, description, founded, members: [(org key, note filter or None, how many)])
TEAMS = {
    "xdj": (
        "zszz_it", "小电匠家电维修队",
        "信息技术部“小电匠”家电维修项目:获广东省教育厅劳动教育精品微课一等奖,全国中学生志愿服务示范项目、广东省"
        "益苗计划志愿服务优秀项目,脚步遍及中山市各镇街。",
        "2019-09-01", [("zszz_it", None, 13), ("zszz_b2", None, 2)],
    ),
    "caishang": (
        "zszz_b4", "财商志愿服务队", "“财商课堂进社区,志愿服务促成长”:培养社区儿童的财商意识和理财能力。",
        "2022-09-01", [("zszz_b4", None, 5), ("zszz_service", "student", 4)],
    ),
    "design": (
        "zszz_design", "创意设计部志愿服务队",
        "发挥艺术设计类和幼儿保教类专业优势:创意手绘美化环境、艺术启蒙教学、亲子课堂、绘本阅读、艺术展演。",
        "2021-03-01", [("zszz_design", None, 11), ("zszz_b3", None, 3)],
    ),
    "modern": (
        "zszz_service", "现代服务业部志愿服务队", "弘扬奉献、友爱、互助的志愿精神:关爱残疾人、爱老敬老等专业服务。",
        "2021-03-01", [("zszz_service", None, 11)],
    ),
    "ebike": (
        "zszz_mfg", "电动车安全检测与维修服务队", "制造部师生结合所学知识开展电车安全检测与维修志愿服务。",
        "2022-03-01", [("zszz_mfg", None, 11), ("zszz_b1", None, 2)],
    ),
    "wlzx": (
        "gzcv_it", "“物联智行”先锋队", "“科技红芯”党建品牌:智慧农业系统、物联网墒情监测、AI灌溉、电商与直播培训。",
        "2023-03-01", [("gzcv_it", None, 5), ("gzcv", None, 5)],
    ),
    "kjtpt": (
        "gzcv_food", "科技特派团", "食品检测、营养学等专家:特色农产品精深加工及面点技能培训。",
        "2023-03-01", [("gzcv_food", None, 5)],
    ),
    "hlxf": (
        "gzcv_food", "红旅先锋队", "开展非遗面点传承。", "2023-06-01", [("gzcv_food", None, 2), ("gzcv", None, 5)],
    ),
    "fmyc": (
        "gzcv_art", "“赋美于瓷”团队", "青年党员教师挖掘地方红色文化,培训村民讲师、拍摄研学短视频。",
        "2023-03-01", [("gzcv_art", None, 5), ("gzcv", None, 3)],
    ),
    "qjxf": (
        "gzcv_build", "“强国行”专家服务团队", "“双带头人”教师党支部书记领衔,对接乡村教育、生态治理和基建安全需求。",
        "2023-05-01", [("gzcv_build", None, 5)],
    ),
    "ysdj": (
        "jhc_b1", "“有声党建”志愿服务队", "有声读书卡、情景党课长廊、“红歌角”、党建音频微课堂。",
        "2023-03-01", [("jhc_b1", None, 5), ("jhc_b3", None, 4)],
    ),
    "yinling": (
        "jiangnan", "银龄党员文明服务队", "捡拾垃圾、清扫楼道等志愿活动,助力街区秩序井然、邻里和谐。",
        "2022-06-01", [("jiangnan", "退休党员", 8), ("jhc_b3", None, 4)],
    ),
    "yubo": (
        "jiangnan", "玉帛党员志愿调解团", "党员志愿者调解邻里矛盾纠纷。", "2022-06-01", [("jiangnan", "调解员", 4), ("jhc_b1", None, 2)],
    ),
    "yuandama": (
        "hemuli", "“苑大妈”文明劝导小分队", "文明劝导、移风易俗。", "2022-09-01", [("hemuli", None, 6)],
    ),
    "sgzj": (
        "sjgw", "工委社工专家团队", "心理教育与咨询、家庭教育指导、个案服务和小组活动。", "2022-03-01", [("sjgw", None, 4)],
    ),
    "yzc_dy": (
        "yinzhaochang", "尹兆场社区党员志愿服务队", "人居环境整治、河湖沟渠清理、“县花上树”。",
        "2022-04-01", [("yinzhaochang", "社区党员", 4), ("yinzhaochang", "志愿者", 6)],
    ),
    "yzc_tj": (
        "yinzhaochang", "“领头雁”调解员队", "调解矛盾纠纷。", "2023-08-01", [("yinzhaochang", "“领头雁”调解员", 4)],
    ),
}

# team key → [(service name, description)]
OFFERINGS = {
    "xdj": [("家电维修", "电视、电风扇、电饭煲等小家电检修"), ("安全用电宣传", "")],
    "caishang": [("财商课堂", "面向社区儿童"), ("反诈宣传", "防范电信网络诈骗")],
    "design": [("创意手绘美化环境", "井盖、墙绘"), ("艺术启蒙教学", ""), ("亲子课堂", ""), ("绘本阅读", ""), ("艺术展演", "")],
    "modern": [("血压检测", ""), ("关爱残疾人", ""), ("爱老敬老", "")],
    "ebike": [("电动车维护保养", ""), ("电动车安全检测", "")],
    "wlzx": [("智慧农业系统运维", "物联网传感器、AI灌溉"), ("短视频与直播培训", "")],
    "kjtpt": [("食品检测", ""), ("面点技能培训", "")],
    "hlxf": [("非遗面点传承", "")],
    "fmyc": [("村民讲师培训", ""), ("研学短视频拍摄", "")],
    "qjxf": [("桥梁数字化检测", ""), ("农房建造安全咨询", "")],
    "ysdj": [("情景党课", ""), ("有声读书卡", "")],
    "yinling": [("捡拾垃圾", ""), ("清扫楼道", "")],
    "yubo": [("矛盾调解", "")],
    "yuandama": [("文明劝导", "")],
    "sgzj": [("心理咨询", ""), ("家庭教育指导", ""), ("个案服务", "")],
    "yzc_dy": [("环境整治", ""), ("河湖沟渠清理", "")],
    "yzc_tj": [("矛盾调解", "")],
}

# --------------------------------------------------------------------------------------------------------
# Needs (微心愿)
# --------------------------------------------------------------------------------------------------------

NS, NC = Need.Status, Need.Category

# (pairing, title, category, wanted by, masked, status, raised "YYYY-MM-DD", claimed by, claimed on,
#  rating, comment, description). Fulfilled needs name their activity through the activity's ``need``.
NEEDS = (
    ("LS", "独居老人家中电视机无法开机", NC.REPAIR, "陈阿婆", True, NS.FULFILLED, "2024-01-05", "zszz_b2", "2024-01-08", 5, "维修及时,老人很满意", ""),
    ("LS", "家中冰箱不制冷", NC.REPAIR, "黄伯", True, NS.FULFILLED, "2023-09-02", "zszz_b2", "2023-09-05", 4, "修好了,希望多来几次", ""),
    ("LS", "村文化室需要儿童绘本和美术用品", NC.EDUCATION, "村妇联", False, NS.FULFILLED, "2024-06-03", "zszz_b3", "2024-06-10", 5, "孩子们很喜欢", ""),
    ("LS", "集创夜市希望增加血压检测服务", NC.HEALTH, "村老年人协会", False, NS.FULFILLED, "2024-04-22", "zszz_b4", "2024-04-28", 4, "", ""),
    ("LS", "老年活动中心电动车充电棚安全检查", NC.REPAIR, "村委会", False, NS.CLAIMED, "2024-10-28", "zszz_b1", "2024-11-05", None, "", "充电棚线路老化,请帮忙检查"),
    ("LS", "村小学门口沙井盖彩绘", NC.ENVIRONMENT, "村委会", False, NS.OPEN, "2024-09-10", None, None, None, "", "延续紫坭环公园的“井上添画”"),
    ("LS", "为留守儿童开设周末财商课堂", NC.CHILDREN, "村妇联", False, NS.OPEN, "2024-12-16", None, None, None, "", ""),
    ("LS", "村史馆展陈设计", NC.CULTURE, "村委会", False, NS.CLOSED, "2023-10-12", None, None, None, "", "已由街道统一建设"),
    ("GK", "青年创业者希望了解创业补贴政策", NC.OTHER, "镇青年创业者", False, NS.FULFILLED, "2023-10-09", "zszz_b6", "2023-10-12", 5, "解读很详细", ""),
    ("GK", "社区小家电集中维修", NC.REPAIR, "镇新时代文明实践所", False, NS.FULFILLED, "2024-09-02", "zszz_b2", "2024-09-06", 4, "", ""),
    ("GK", "大龄就业者简历制作辅导", NC.EDUCATION, "镇人社分局", False, NS.CLAIMED, "2024-11-12", "zszz_b6", "2024-11-20", None, "", "“40+”求职者"),
    ("GK", "“香山工匠杯”参赛队员赛前技能辅导", NC.EDUCATION, "镇总工会", False, NS.OPEN, "2024-08-30", None, None, None, "", ""),
    ("GK", "镇文化站电脑维护", NC.REPAIR, "镇文化站", False, NS.CLOSED, "2023-11-06", None, None, None, "", "已由镇政府采购维保服务"),
    ("TX", "柠檬园土壤墒情监测设备", NC.INDUSTRY, "柠檬种植合作社", False, NS.FULFILLED, "2023-04-25", "gzcv_it", "2023-04-28", 5, "浇水心里有数了", ""),
    ("TX", "村民学习短视频拍摄与直播", NC.EDUCATION, "村委会", False, NS.FULFILLED, "2024-02-20", "gzcv_it", "2024-02-26", 5, "", ""),
    ("TX", "农房建造安全咨询", NC.OTHER, "村民", False, NS.FULFILLED, "2024-03-18", "gzcv_build", "2024-03-25", 4, "", ""),
    ("TX", "柠檬深加工产品包装设计", NC.INDUSTRY, "柠檬种植合作社", False, NS.CLAIMED, "2024-10-08", "gzcv_art", "2024-10-15", None, "", ""),
    ("TX", "村道路灯线路检修", NC.REPAIR, "村委会", False, NS.OPEN, "2024-10-08", None, None, None, "", ""),
    ("TX", "留守老人智能手机使用培训", NC.ELDERLY, "村老年人协会", False, NS.OPEN, "2024-12-18", None, None, None, "", ""),
    ("TX", "电商平台物流对接", NC.INDUSTRY, "柠檬种植合作社", False, NS.CLOSED, "2023-11-20", None, None, None, "", "已由镇供销社统一对接"),
    ("XY", "灾后乡村桥梁安全检测", NC.OTHER, "镇农业农村办", False, NS.FULFILLED, "2024-06-25", "gzcv_build", "2024-06-28", 5, "专业、及时", ""),
    ("XY", "镇中心小学教师教学能力提升", NC.EDUCATION, "镇教育指导中心", False, NS.CLAIMED, "2024-10-20", "gzcv_it", "2024-11-02", None, "", ""),
    ("XY", "村级道路排水沟设计咨询", NC.OTHER, "镇农业农村办", False, NS.OPEN, "2024-09-12", None, None, None, "", ""),
    ("XY", "农房加固施工指导", NC.OTHER, "村民", False, NS.CLOSED, "2023-09-08", None, None, None, "", "已由县住建局安排"),
    ("JN", "街道党群服务中心便民服务大厅功能优化", NC.OTHER, "街道党群服务中心", False, NS.FULFILLED, "2023-04-20", "jhc_b2", "2023-04-26", 4, "", ""),
    ("JN", "网格员业务培训", NC.EDUCATION, "街道综治中心", False, NS.FULFILLED, "2024-03-25", "jhc_b2", "2024-03-29", 4, "", ""),
    ("JN", "口袋公园文化墙设计", NC.CULTURE, "街道城建办", False, NS.CLAIMED, "2024-11-25", "jhc_b3", "2024-12-02", None, "", ""),
    ("JN", "小区楼道杂物清理", NC.ENVIRONMENT, "居民", False, NS.OPEN, "2024-10-20", None, None, None, "", ""),
    ("JN", "老旧小区加装电梯政策解读", NC.OTHER, "居民", False, NS.CLOSED, "2023-08-15", None, None, None, "", "街道已统一召开说明会"),
    ("HML", "独居老人微心愿:一台收音机", NC.ELDERLY, "孙奶奶", True, NS.FULFILLED, "2024-01-28", "jhc_b3", "2024-02-02", 5, "谢谢同学们", ""),
    ("HML", "儿童暑期红色故事会", NC.CHILDREN, "社区居委会", False, NS.FULFILLED, "2024-06-12", "jhc_b1", "2024-06-18", 4, "", ""),
    ("HML", "邻里纠纷调解", NC.OTHER, "居民", True, NS.CLAIMED, "2024-12-06", "jhc_b1", "2024-12-10", None, "", ""),
    ("HML", "社区“红歌角”添置音响设备", NC.CULTURE, "社区党组织", False, NS.OPEN, "2024-11-05", None, None, None, "", ""),
    ("HML", "楼道照明修理", NC.REPAIR, "居民", False, NS.CLOSED, "2023-10-09", None, None, None, "", "物业已修复"),
    ("YZC", "石斛种苗技术指导", NC.INDUSTRY, "石斛种植户", False, NS.FULFILLED, "2024-03-01", "sjgw_b2", "2024-03-05", 5, "", ""),
    ("YZC", "留守儿童暑期托管", NC.CHILDREN, "家长代表", False, NS.FULFILLED, "2024-06-20", "sjgw_b1", "2024-06-25", 5, "孩子暑假有了去处", ""),
    ("YZC", "林下重楼病虫害防治", NC.INDUSTRY, "药农", False, NS.CLAIMED, "2024-11-28", "sjgw_b2", "2024-12-05", None, "", ""),
    ("YZC", "村组道路沿线绿化苗木", NC.ENVIRONMENT, "社区党总支", False, NS.OPEN, "2024-09-18", None, None, None, "", ""),
    ("YZC", "老年人心理疏导", NC.ELDERLY, "社区居委会", False, NS.OPEN, "2024-12-22", None, None, None, "", ""),
    ("YZC", "社区卫生室添置血压计", NC.HEALTH, "社区卫生室", False, NS.CLOSED, "2023-06-12", None, None, None, "", "已由县卫健局配发"),
)

# --------------------------------------------------------------------------------------------------------
# Activities
# --------------------------------------------------------------------------------------------------------

TYPE_TIMES = {
    "joint-meeting": ("09:30", "11:30"),
    "lecture": ("15:00", "16:30"),
    "theme-party-day": ("09:00", "11:30"),
    "skills-training": ("14:30", "17:00"),
    "culture": ("14:30", "16:30"),
    "visit-survey": ("09:00", "12:00"),
    "mediation": ("15:00", "17:00"),
}
DEFAULT_TIMES = ("09:00", "12:00")

DEFAULT_PLACE = {
    "LS": "龙石村党群服务中心",
    "GK": "港口镇新时代文明实践所",
    "TX": "田心村党群服务中心",
    "XY": "西阳镇人民政府",
    "JN": "江南街道党群服务中心",
    "HML": "和睦里社区新时代文明实践站",
    "YZC": "尹兆场社区党群服务中心",
}


def _build_activities():
    acts = []

    def act(p, b, t, d, title, **kw):
        acts.append({"p": p, "b": b, "t": t, "d": D(d), "title": title, **kw})

    # ---------------- seed 000 双联双助: 中山中专 ↔ 龙石村 (LS), 港口镇 (GK)
    repairs = iter(XIAODIANJIANG_REPAIRS)
    market = "龙石村集创夜市"
    xdj_desc = "“小电匠”家电维修队师生党员带着工具进村,现场检修电视、电风扇、电饭煲等小家电,并宣传安全用电知识。"
    for d, p, place, need in (
        ("2023-04-15", "LS", "龙石村党群服务中心", None),
        ("2023-06-17", "GK", "港口镇新时代文明实践所", None),
        ("2023-09-16", "LS", "龙石村文化室", "家中冰箱不制冷"),
        ("2023-12-15", "LS", market, None),
        ("2024-01-20", "LS", "龙石村党群服务中心", "独居老人家中电视机无法开机"),
        ("2024-03-16", "GK", "港口镇新时代文明实践所", None),
        ("2024-05-17", "LS", market, "集创夜市希望增加血压检测服务"),
        ("2024-06-22", "LS", "龙石村文化室", None),
        ("2024-09-21", "GK", "港口镇新时代文明实践所", "社区小家电集中维修"),
        ("2024-10-18", "LS", market, None),
        ("2024-11-16", "LS", "龙石村党群服务中心", None),
        ("2024-12-14", "LS", "龙石村文化室", None),
    ):
        year = d[:4]
        n_repairs = next(repairs)
        if place == market:
            bp, ebike, fraud = {"2023": (58, 14, 120), "2024": (64, 17, 150)}[year] if d != "2024-10-18" else (61, 15, 136)
            act(
                p, "zszz_b2", "resident-service", d, "集创夜市党员服务集市", place=place, start="18:30", end="21:30",
                co=["zszz_b1", "zszz_b4", "zszz_b5"], team="xdj", n=6, extra_teams=["modern", "ebike", "caishang"],
                item="集创夜市党员服务集市" if year == "2023" else "集创夜市党员服务集市(常态化)", need=need,
                desc="助力龙石村“示范引领”工程提质增效,在集创夜市开展党员服务集市:党史有奖问答、血压检测、电动车维护"
                "保养、小家电维修、反诈宣传等便民惠民服务,切实解决群众“最后一公里”问题。",
                m={"appliance_repairs": n_repairs, "bp_checks": bp, "ebike_services": ebike, "antifraud_reach": fraud},
                pm=18, teachers=22, students=16, residents=bp + fraud + n_repairs + ebike,
            )
        else:
            item = "“小电匠”家电维修进村" if p == "LS" else "“小电匠”家电义修进港口"
            act(
                p, "zszz_b2", "volunteer-service", d, "“小电匠”家电维修进村" if p == "LS" else "“小电匠”家电义修进港口",
                place=place, team="xdj", n=6, item=item, need=need, desc=xdj_desc, m={"appliance_repairs": n_repairs},
                residents=n_repairs * 3,
            )

    for d, title, status in (
        ("2023-03-16", "双联双助结对共建协议签约暨项目推行会", None),
        ("2023-06-29", "双联双助行动联席会(第二季度)", None),
        ("2023-12-21", "双联双助行动联席会:年度总结与计划对接", None),
        ("2024-03-28", "2024年双联双助工作推进会", None),
        ("2024-06-27", "双联双助行动联席会(第二季度)", None),
        ("2024-09-26", "双联双助行动联席会(第三季度)", None),
        ("2024-12-20", "双联双助行动联席会:年度总结", "submitted"),
    ):
        act(
            "LS", "zszz_pc", "joint-meeting", d, title, place="龙石村党群服务中心会议室", n=0, pm=8,
            item="签订结对共建协议、建立常态化联系机制" if d == "2023-03-16" else ("召开双联双助行动联席会" if d < "2024" else "召开季度联席会"),
            desc="校村双方共同商讨结对共建各项工作,研究解决遇到的困难和问题,对照项目实施清单推进。", status=status,
        )
    act(
        "LS", "zszz_b1", "environment", "2023-08-26", "助力龙石村“三清三拆三整治”百日攻坚",
        place="龙石村交通道路两侧、村道巷道、集贸市场", co=["zszz_b2", "zszz_b4", "zszz_b5"],
        pool=["zszz_b1", "zszz_b2", "zszz_b4", "zszz_b5", "longshi"], n=10, item="助力“三清三拆三整治”百日攻坚",
        desc="第一、第二、第四、第五党支部的党员、教师与村党员干部、村民代表和志愿者一起,集中清理交通道路两侧、村道"
        "巷道、房屋前后、集贸市场等区域的杂草、垃圾和障碍物,拆除违章建筑和乱搭乱建。",
        m={"cleanup_area": 4600}, pm=26, teachers=34, residents=40,
    )
    act(
        "LS", "zszz_b5", "lecture", "2023-10-20", "主题党日:贾珍老师宣讲党的二十大精神", place="龙石村党群服务中心",
        volunteers=[("zszz_b5", "贾珍")], item="主题党日联学:宣讲党的二十大精神",
        desc="第五党支部党员贾珍老师结合龙石村实际,从二十大主题、中国式现代化、“百千万工程”三个方面向村党员干部、"
        "群众宣讲党的二十大精神。",
        m={"lecture_audience": 68}, pm=12, residents=68,
    )
    act(
        "LS", "zszz_b3", "environment", "2023-11-11", "“井上添画”:彩绘紫坭环公园沙井盖", place="龙石村紫坭环公园",
        team="design", n=8, item="“井上添画”美化紫坭环公园",
        desc="第三党支部带领创意设计部志愿服务队彩绘沙井盖,每名党员带领一组学生志愿者,美化村容村貌。",
        m={"manhole_covers": 16}, pm=5, teachers=6, students=18,
    )
    act(
        "LS", "zszz_b4", "volunteer-service", "2023-11-25", "“财商课堂进社区,志愿服务促成长”",
        place="五桂山街道文化中心三楼图书馆", team="caishang", n=6, item="财商课堂进社区",
        desc="第四党支部财商志愿服务队联合五桂山街道新时代文明实践中心开展财商课堂进社区活动,培养社区儿童的财商"
        "意识和理财能力。",
        m={"children_served": 42}, residents=42,
    )
    act(
        "GK", "zszz_b6", "volunteer-service", "2023-10-28", "“2023年青年创业集市”志愿者服务", place="港口镇青年创业集市",
        pool=["zszz_b6"], n=5, item="2023年青年创业集市志愿服务", need="青年创业者希望了解创业补贴政策",
        desc="第六党支部全体党员为青年创业者解读中山市青年创业就业政策,引导“40+”大龄就业者前往招聘摊位应聘,并向港口镇"
        "第二届“香山工匠杯”大赛参赛队员分享经验。",
        m={"job_consultations": 126}, pm=14, residents=180,
    )
    act("LS", "zszz_b1", "volunteer-service", "2023-05-20", "电动车安全检测与维护保养进龙石村", team="ebike", n=6,
        place="龙石村村委会广场", item="电动车安全检测与维护保养", m={"ebike_services": 23})
    act("LS", "zszz_b3", "culture", "2023-07-15", "艺术启蒙暑期课堂", team="design", n=6, place="龙石村文化室",
        item="艺术启蒙暑期课堂", m={"children_served": 35})
    act("LS", "zszz_b4", "care-service", "2023-09-28", "中秋敬老:关爱老人与残疾人志愿服务", team="modern", n=6,
        item="关爱老人与残疾人志愿服务", m={"elderly_served": 46, "bp_checks": 46})
    # 2024
    act("LS", "zszz_b3", "culture", "2024-02-24", "元宵亲子手绘课堂", team="design", n=6, place="龙石村文化室",
        item="艺术启蒙与亲子课堂", m={"children_served": 38})
    act("LS", "zszz_b1", "volunteer-service", "2024-04-20", "电动车安全检测与维护保养进龙石村", team="ebike", n=6,
        place="龙石村村委会广场", item="电动车安全检测与维护保养", m={"ebike_services": 27})
    act("LS", "zszz_b4", "volunteer-service", "2024-04-27", "财商课堂进社区(第二期)", team="caishang", n=5,
        place="五桂山街道文化中心三楼图书馆", item="财商课堂进社区", m={"children_served": 44})
    act("LS", "zszz_b3", "culture", "2024-07-13", "绘本阅读与艺术启蒙夏令营", team="design", n=8, place="龙石村文化室",
        item="艺术启蒙与亲子课堂", need="村文化室需要儿童绘本和美术用品", m={"children_served": 45})
    act("LS", "zszz_b3", "culture", "2024-07-20", "创意设计部师生艺术展演", team="design", n=8, place="龙石村紫坭环公园",
        status="returned", comment="参与人数与签到表不符,请核对后重新提交。")
    act(
        "LS", "zszz_b5", "environment", "2024-08-24", "巩固“三清三拆三整治”成果", co=["zszz_b1", "zszz_b2"],
        pool=["zszz_b5", "zszz_b1", "zszz_b2", "longshi"], n=8, place="龙石村村道巷道",
        item="巩固“三清三拆三整治”成果", m={"cleanup_area": 3800}, pm=17, teachers=20,
    )
    act("LS", "zszz_b4", "care-service", "2024-09-14", "中秋敬老志愿服务", team="modern", n=6, item="中秋敬老志愿服务",
        m={"elderly_served": 52, "bp_checks": 52})
    act("LS", "zszz_b5", "lecture", "2024-11-08", "学习贯彻党的二十届三中全会精神宣讲",
        volunteers=[("zszz_b5", "贾珍")], pool=["zszz_b5"], n=2, item="宣讲党的二十届三中全会精神",
        m={"lecture_audience": 72})
    act("LS", "zszz_b4", "volunteer-service", "2024-12-21", "财商课堂进社区(第三期)", team="caishang", n=5,
        place="五桂山街道文化中心三楼图书馆", item="财商课堂进社区", status="draft")
    act("GK", "zszz_b1", "volunteer-service", "2024-11-23", "电动车安全检测进港口", team="ebike", n=5,
        item="电动车安全检测进港口", m={"ebike_services": 21})
    act("GK", "zszz_b6", "volunteer-service", "2024-10-26", "2024年青年创业集市志愿服务", pool=["zszz_b6"], n=5,
        place="港口镇青年创业集市", item="青年就业创业服务", m={"job_consultations": 94})

    # ---------------- seed 001 党员进社区: 广州城职院 ↔ 田心村 (TX), 西阳镇 (XY)
    act("TX", "gzcv_pc", "joint-meeting", "2023-03-28", "校地党组织结对共建签约仪式", pool=["gzcv_it"], n=2, pm=12,
        item="校地党组织结对共建签约")
    act("TX", "gzcv_food", "visit-survey", "2023-04-20", "“科技特派团”柠檬产业深调研与广问策", team="kjtpt", n=4,
        place="田心村柠檬种植基地", item="主题党日+田间调研")
    act("TX", "gzcv_it", "industry-support", "2023-05-18", "布设物联网传感器监测柠檬园墒情", team="wlzx", n=6,
        place="田心村柠檬种植基地", item="物联网传感器布设与墒情监测", need="柠檬园土壤墒情监测设备",
        m={"iot_sensors": 36})
    field_days = [f"2023-{m:02d}-{d:02d}" for m, d in ((6, 10), (8, 12), (10, 14), (12, 9))]
    field_days += [f"2024-{m:02d}-{5 + (m * 3) % 17:02d}" for m in range(1, 13)]
    for i, d in enumerate(field_days):
        act("TX", ("gzcv_it", "gzcv_food")[i % 2], "theme-party-day", d, f"主题党日+田间调研({d[:4]}年{int(d[5:7])}月)",
            place="田心村柠檬种植基地", pool=[("gzcv_it", "gzcv_food")[i % 2], "tianxin"], n=4,
            item="主题党日+田间调研" if d < "2024" else "主题党日+田间调研(每月一次)",
            desc="师生党员与农户同劳动、解难题,在田间学习物联网运维和大数据分析等现代农业技能。",
            status="submitted" if d >= "2024-11" else None)
    for d, trained in (("2023-07-22", 36), ("2023-10-21", 41), ("2024-03-09", 48), ("2024-05-25", 39),
                       ("2024-08-17", 44), ("2024-10-19", 52)):
        act("TX", "gzcv_it", "skills-training", d, "短视频与直播技巧培训", team="wlzx", n=5, place="田心村村民学校",
            item="短视频与直播技巧培训", need="村民学习短视频拍摄与直播" if d == "2024-03-09" else None,
            m={"villagers_trained": trained, "training_sessions": 1})
    act("TX", "gzcv_it", "industry-support", "2023-09-23", "AI灌溉模型上线试运行", team="wlzx", n=4,
        place="田心村柠檬种植基地", item="AI灌溉模型试运行", m={"smart_irrigation_area": 120})
    act("TX", "gzcv_food", "skills-training", "2023-08-19", "特色农产品精深加工及面点技能培训", team="kjtpt", n=4,
        item="特色农产品精深加工及面点技能培训", m={"villagers_trained": 32, "training_sessions": 1})
    act("TX", "gzcv_it", "industry-support", "2023-11-18", "“田心柠檬”电商平台上线暨直播助农", team="wlzx", n=6,
        item="柠檬电商平台搭建", m={"ecommerce_sales": Decimal("6.8")})
    act("TX", "gzcv_art", "lecture", "2023-11-25", "“梦想激励人生”励志讲座", team="fmyc", n=3,
        item="“梦想激励人生”励志讲座", m={"lecture_audience": 96})
    act("TX", "gzcv_food", "culture", "2024-02-03", "红旅先锋队非遗面点传承", team="hlxf", n=6, item="非遗面点传承")
    act("TX", "gzcv_build", "skills-training", "2024-04-13", "建筑工匠培训(砌筑工、钢筋工)", team="qjxf", n=4,
        item="建筑工匠培训(砌筑工、钢筋工)", need="农房建造安全咨询",
        desc="将党的理论教育与专业技能结合,开设砌筑工、钢筋工等课程,涵盖农房建造与材料安全。",
        m={"villagers_trained": 48, "training_sessions": 1})
    act("TX", "gzcv_it", "industry-support", "2024-04-27", "物联网传感器扩容", team="wlzx", n=4,
        place="田心村柠檬种植基地", item="物联网传感器扩容", m={"iot_sensors": 28})
    act("TX", "gzcv_food", "skills-training", "2024-06-15", "柠檬深加工与面点技能培训", team="kjtpt", n=4,
        item="短视频与直播技巧培训", m={"villagers_trained": 35, "training_sessions": 1})
    act("TX", "gzcv_it", "industry-support", "2024-09-07", "智慧灌溉覆盖扩面", team="wlzx", n=4,
        place="田心村柠檬种植基地", item="智慧灌溉覆盖扩面", m={"smart_irrigation_area": 260})
    for d, sales, status in (("2024-01-27", "9.5", None), ("2024-06-29", "7.2", None), ("2024-11-09", "12.4", "returned")):
        act("TX", "gzcv_it", "industry-support", d, "电商直播助农", team="wlzx", n=5, item="电商直播助农",
            m={"ecommerce_sales": Decimal(sales)}, status=status,
            comment="销售额请附电商平台后台截图。" if status else "")
    for d in ("2023-06-28", "2023-12-27", "2024-06-26", "2024-12-25"):
        act("TX", "gzcv_pc", "joint-meeting", d, f"校地党建联建联席会({d[:4]}年{'上' if d[5:7] < '07' else '下'}半年)",
            pool=["gzcv_it"], n=0, pm=8, status="submitted" if d.startswith("2024-12") else None)
    act("XY", "gzcv_build", "visit-survey", "2023-06-16", "驻点帮扶调研:西阳镇乡村建设需求", team="qjxf", n=3,
        item="驻点帮扶调研")
    act("XY", "gzcv_it", "skills-training", "2023-11-11", "全国教能赛一等奖团队到梅县一职指导青年教师", pool=["gzcv_it"],
        n=4, place="梅县第一职业学校", item="指导梅县一职青年教师参赛", m={"teachers_coached": 15})
    act(
        "XY", "gzcv_build", "tech-service", "2024-07-10", "暴雨灾后9座乡村桥梁数字化检测与修缮设计", team="qjxf", n=5,
        place="西阳镇暴雨受灾村", item="灾后乡村桥梁数字化检测与修缮设计", need="灾后乡村桥梁安全检测",
        start="08:00", end="14:00",
        desc="市政工程技术专业博士后带队赴西阳镇暴雨灾区,完成9座乡村桥梁数字化检测与修缮设计。",
        m={"bridges_inspected": 9},
    )
    act("XY", "gzcv_build", "visit-survey", "2024-08-21", "桥梁修缮设计方案交付与回访", team="qjxf", n=3,
        item="灾后乡村桥梁数字化检测与修缮设计")
    act("XY", "gzcv_it", "skills-training", "2024-11-16", "青年教师教学能力提升工作坊", pool=["gzcv_it"], n=3,
        place="西阳镇中心小学", item="青年教师教学能力提升", m={"teachers_coached": 12}, status="submitted")

    # ---------------- seed 002 党建共同体: 马院 ↔ 江南街道 (JN), 和睦里社区 (HML)
    quarters = ("2023-03-24", "2023-06-21", "2023-09-22", "2023-12-20", "2024-03-22", "2024-06-21", "2024-09-20", "2024-12-18")
    for i, d in enumerate(quarters):
        act("JN", "jhc_pc", "joint-meeting", d, f"党建联席会议({d[:4]}年第{i % 4 + 1}季度调度)", n=0, pm=10,
            place="江南街道党群服务中心会议室",
            item="建立党建联席会议制度(一季一调度)" if d < "2024" else "党建联席会议(一季一调度)",
            desc="区校双方通报一季度共建进展,按照“一月一提示,一季一调度”研究下一阶段工作。",
            m={"joint_meetings": 1}, status="submitted" if d == "2024-12-18" else None)
    act("JN", "jhc_b2", "visit-survey", "2023-05-12", "协助推进“阵地功能提档计划”:党群服务中心规范化建设",
        pool=["jhc_b2"], n=3, item="“阵地功能提档计划”", need="街道党群服务中心便民服务大厅功能优化")
    act("JN", "jhc_b2", "skills-training", "2024-04-12", "协助设立“网格微哨”:四级网格员业务培训", pool=["jhc_b2"], n=4,
        item="“网格微哨”四级网格治理", need="网格员业务培训", m={"grid_members": 86})
    act("JN", "jhc_b3", "environment", "2024-05-18", "口袋公园与主题文化广场美化改造", team="yinling", n=8,
        item="口袋公园与主题文化广场美化改造", m={"renovated_area": 1820})
    act("JN", "jhc_b1", "visit-survey", "2024-08-16", "“社区问题我发现”主题活动", pool=["jhc_b1", "jiangnan"], n=4,
        item="“社区问题我发现”主题活动")
    act("JN", "jhc_b1", "visit-survey", "2024-10-25", "“处理方法我来想”主题活动", pool=["jhc_b1"], n=3,
        status="returned", comment="请补充参与居民人数。")
    yinling_days = [f"2023-{m:02d}-{10 + m:02d}" for m in (2, 4, 6, 8, 10, 12)]
    yinling_days += [f"2024-{m:02d}-{8 + (m * 5) % 19:02d}" for m in range(1, 13)]
    for i, d in enumerate(yinling_days):
        p = ("JN", "HML")[i % 2]
        month = int(d[5:7])
        act(p, "jhc_b3", "volunteer-service", d, f"银龄党员文明服务队联合志愿服务({d[:4]}年{month}月)", team="yinling",
            n=5, place="江南街道平安里" if p == "JN" else "和睦里社区",
            item="银龄党员文明服务队联合志愿服务",
            need="独居老人微心愿:一台收音机" if d.startswith("2024-02") else None,
            desc="学生党员随银龄党员文明服务队捡拾垃圾、清扫楼道,助力街区秩序井然、邻里和谐。",
            m={"volunteer_services": 12 + (i * 5) % 9},
            status="draft" if d.startswith("2024-12") else ("submitted" if d.startswith("2024-11") else None))
    for d, title, lessons in (
        ("2023-06-16", "“有声党建”:推出有声读书卡", 0),
        ("2023-07-01", "“音乐与信仰”情景党课", 1),
        ("2023-10-13", "“音乐与党史”情景党课长廊揭牌", 1),
        ("2024-03-15", "“红歌角”开角仪式", 1),
        ("2024-07-01", "党建音频微课堂:儿童暑期红色故事会", 1),
    ):
        act("HML", "jhc_b1", "culture" if not lessons else "lecture", d, title, team="ysdj", n=5,
            item="“有声党建”品牌建设" if d < "2024" else "“红歌角”与党建音频微课堂",
            need="儿童暑期红色故事会" if d == "2024-07-01" else None,
            m={"party_lessons": lessons} if lessons else {})
    for d in ("2024-04-19", "2024-10-18"):
        act("HML", "jhc_b2", "theme-party-day", d, "区校联合主题党日", pool=["jhc_b2", "jhc_b1"], n=6,
            item="区校联合主题党日")
    for d, disputes in (("2024-02-23", 3), ("2024-06-14", 4), ("2024-09-13", 2)):
        act("HML", "jhc_b1", "mediation", d, "玉帛党员志愿调解团邻里矛盾调解", team="yubo", n=4,
            item="玉帛党员志愿调解", m={"disputes_mediated": disputes})
    act("HML", "jhc_b3", "volunteer-service", "2024-05-24", "“苑大妈”文明劝导小分队联合文明劝导", team="yuandama", n=5,
        item="“苑大妈”文明劝导", m={"volunteer_services": 16})
    for d, served in (("2023-09-15", 64), ("2024-09-06", 88)):
        act("HML", "jhc_b2", "resident-service", d, "居民点单式服务日", pool=["jhc_b2", "jhc_b3"], n=6,
            item="居民点单式服务", m={"residents_served": served})

    # ---------------- seed 003 两建三做: 市直机关工委 ↔ 尹兆场社区 (YZC)
    trainees = (58, 63, 55, 66, 61, 64, 59)
    tech_days = ("2023-03-15", "2023-06-12", "2023-09-20", "2023-11-22", "2024-03-18", "2024-06-14", "2024-09-12")
    for d, n_trainees in zip(tech_days, trainees, strict=True):
        act("YZC", "sjgw_b2", "skills-training", d, "产业科技培训:石斛、重楼、黄精种植技术", pool=["sjgw_b2"], n=3,
            place="新时代科技特派员服务站", item="产业科技培训", need="石斛种苗技术指导" if d == "2024-03-18" else None,
            desc="会同省中草药种植协会、省农科院药作所、热经所等科研院所开展产业科技培训。",
            m={"tech_trainings": 1, "tech_trainees": n_trainees}, residents=n_trainees)
    for d, tutors in (("2023-07-18", 26), ("2024-07-16", 26)):
        act("YZC", "sjgw_b2", "skills-training", d, "农村科技辅导员培养班", pool=["sjgw_b2"], n=3,
            place="新时代科技特派员服务站", item="培养农村科技辅导员", m={"tech_tutors": tutors})
    for d, funds in (("2023-04-10", 85), ("2023-10-16", 65), ("2024-04-12", 97), ("2024-10-15", 65)):
        act("YZC", "sjgw_b2", "industry-support", d, "协调科技项目资金对接会", pool=["sjgw_b2"], n=2,
            item="协调项目资金", m={"funds_raised": funds})
    for d, area, item in (("2023-05-22", 120, "中药材种植科技示范基地"), ("2024-05-20", 90, "中药材种植科技示范基地扩建")):
        act("YZC", "sjgw_b2", "industry-support", d, "市级中药材种植科技示范基地建设", pool=["sjgw_b2", "yinzhaochang"],
            n=4, place="尹兆场社区中药材种植基地", item=item, m={"demo_base_area": area})
    act("YZC", "sjgw_b2", "industry-support", "2024-08-26", "2个石斛优良品种获授权登记", pool=["sjgw_b2"], n=2,
        item="石斛优良品种授权登记", m={"new_varieties": 2})
    lead_trainees = spread(_seed_value("ljsz", "leadgoose_trainees"), 24)
    for i in range(24):
        year, month = 2023 + i // 12, i % 12 + 1
        d = f"{year}-{month:02d}-{8 + (i * 3) % 15:02d}"
        title = f"“领头雁”培养计划第{i // 2 + 1}期" if i % 2 == 0 else f"家庭教育指导服务(第{i // 2 + 1}场)"
        act("YZC", "sjgw_b1", "skills-training", d, title, pool=["sjgw_b1", "sjgw"], n=3, place="新时代农民讲习所",
            item="“领头雁”培养计划",
            desc="按照“群众需要什么,我们就教什么”的原则,以社区党员、产业带头人、学生家长代表等为对象开展“沉浸式”教学。",
            m={"leadgoose_sessions": 1, "leadgoose_trainees": lead_trainees[i]}, residents=lead_trainees[i])
    for d, mediators in (("2023-08-09", 12), ("2024-03-06", 10)):
        act("YZC", "sjgw_b1", "skills-training", d, "“领头雁”调解员培训", pool=["sjgw_b1"], n=3,
            item="“领头雁”调解员培养与矛盾调解", m={"mediators_trained": mediators})
    dispute_days = ("2023-06-21", "2023-09-13", "2023-11-08", "2024-01-17", "2024-04-24", "2024-06-19", "2024-09-25", "2024-11-13")
    for d, disputes in zip(dispute_days, (3, 2, 4, 3, 2, 3, 3, 3), strict=True):
        act("YZC", "sjgw_b1", "mediation", d, "“领头雁”调解员上门调解矛盾纠纷", team="yzc_tj", n=3, place="尹兆场社区综治中心",
            item="“领头雁”调解员培养与矛盾调解", m={"disputes_mediated": disputes})
    for d, children in (("2023-05-04", 86), ("2024-05-31", 92)):
        act("YZC", "sjgw_b1", "culture", d, "“强国复兴有我”儿童主题演讲比赛", pool=["sjgw_b1", "sjgw"], n=4,
            place="尹兆场社区文化广场", m={"speech_contests": 1, "children_served": children}, residents=children)
    for d, children, need in (("2023-07-24", 60, None), ("2024-07-22", 64, "留守儿童暑期托管"), ("2024-08-12", 58, None)):
        act("YZC", "sjgw_b1", "care-service", d, "“向阳小葵花”素质拓展夏令营", team="sgzj", n=4, place="尹兆场社区",
            start="08:30", end="16:30", need=need, m={"summer_camps": 1, "children_served": children}, residents=children)
    for d, visited in (("2023-02-20", 18), ("2023-08-21", 15), ("2024-02-26", 16), ("2024-08-19", 15)):
        act("YZC", "sjgw_b1", "visit-survey", d, "走访留守儿童家庭", team="sgzj", n=3, place="尹兆场社区各村民小组",
            m={"children_visited": visited})
    monthly_children = _seed_value("ljsz", "children_served") - (86 + 92) - (60 + 64 + 58)
    cases = spread(_seed_value("ljsz", "case_services"), 24, (1, 2, 1, 2, 2, 1))
    groups = spread(_seed_value("ljsz", "group_activities"), 24, (1, 1, 2, 1))
    children = spread(monthly_children, 24)
    residents = spread(_seed_value("ljsz", "residents_served"), 24, (9, 11, 10, 12, 8, 13))
    for i in range(24):
        year, month = 2023 + i // 12, i % 12 + 1
        d = f"{year}-{month:02d}-{15 + (i * 5) % 12:02d}"
        act("YZC", "sjgw_b1", "care-service", d, f"关爱留守儿童“爱心护蕾行动”({year}年{month}月)", team="sgzj", n=3,
            place="家庭教育指导中心", item="关爱留守儿童“爱心护蕾行动”",
            desc="工委社工专家团队开展心理教育与咨询、个案服务和小组活动,关爱“一老一小”。",
            m={"case_services": cases[i], "group_activities": groups[i], "children_served": children[i],
               "residents_served": residents[i]},
            residents=children[i] + residents[i])
    for i in range(_seed_value("ljsz", "cleanups")):
        d = (D("2023-01-14") + datetime.timedelta(days=24 * i)).isoformat()
        title = f"人居环境整治行动(第{i // 2 + 1}次)" if i % 2 == 0 else f"河湖沟渠清理行动(第{i // 2 + 1}次)"
        act("YZC", ("sjgw_b2", "sjgw_b1")[i % 2], "environment", d, title, team="yzc_dy", n=5,
            place="尹兆场社区" if i % 2 == 0 else "尹兆场社区河道沟渠", item="人居环境整治与河湖沟渠清理",
            m={"cleanups": 1}, pm=6 + i % 5, residents=20 + (i * 7) % 15)
    for d, plants in (("2023-04-18", 2600), ("2023-06-20", 3000), ("2024-04-16", 2500), ("2024-06-18", 2500)):
        act("YZC", "sjgw_b1", "environment", d, "“县花上树”仿野生种植石斛", team="yzc_dy", n=6, place="入村道路沿线",
            item="“县花上树”仿野生种植石斛", m={"dendrobium_planted": plants})
    for d, area in (("2023-09-26", 980), ("2024-03-26", 1040), ("2024-10-22", 900)):
        act("YZC", "sjgw_b1", "environment", d, "中药材盆景装点庭院及公共区域", team="yzc_dy", n=5,
            item="中药材盆景装点庭院" if d > "2024" else None, m={"courtyard_greening": area})
    for d, area in (("2023-11-15", 620), ("2024-05-28", 700), ("2024-11-19", 638)):
        act("YZC", "sjgw_b2", "industry-support", d, "耕地保护:引导药农林下种植石斛、重楼、黄精", pool=["sjgw_b2", "yinzhaochang"],
            n=4, place="尹兆场社区林地", item="耕地保护与林下中草药种植", m={"herbs_planted": area})
    act("YZC", "sjgw_b2", "visit-survey", "2023-12-28", "2023年度社区人均纯收入核算调研", pool=["sjgw_b2"], n=2,
        m={"per_capita_income": _seed_value("ljsz", "per_capita_income")})
    act("YZC", "sjgw_b1", "joint-meeting", "2024-12-26", "2024年度党建联盟总结座谈会", n=0, pm=14, status="submitted")
    act("YZC", "sjgw_b2", "visit-survey", "2024-12-20", "走访慰问困难党员和群众", pool=["sjgw_b2"], n=3, status="draft")
    return acts


# --------------------------------------------------------------------------------------------------------
# The loader
# --------------------------------------------------------------------------------------------------------


def _has_history(model):
    return hasattr(model._meta, "simple_history_manager_attribute")


@dataclass
class Stats:
    created: int = 0
    updated: int = 0
    deleted: int = 0


class DemoLoader:
    """Loads the demo data; :meth:`run` is idempotent and writes nothing when nothing changed."""

    def __init__(self):
        self.stats = defaultdict(Stats)
        self.orgs = {}  # org key → Organization
        self.users = {}  # username → User
        self.programs = {}  # code → Program
        self.metrics = {}  # (program code, metric code) → Metric
        self.types = {}  # code → ActivityType
        self.pairings = {}  # pairing key → Pairing
        self.plans = {}  # (pairing key, year) → JointPlan
        self.volunteers = {}  # (org key, name) → Volunteer
        self.vol_meta = {}  # (org key, name) → (kind, note)
        self.teams = {}  # team key → Team
        self.team_members = {}  # team key → [volunteer key]
        self.needs = {}  # (pairing key, title) → Need

    # -- generic, idempotent writes

    def sync(self, model, key, rows, *, prune_within=None):
        """Make ``model`` hold ``rows`` (dicts of attname → value), matched on the attnames in ``key``.

        Rows that exist and are equal are left alone, so a second run writes nothing. With ``prune_within``
        (attname, ids), rows under those parents whose key is not among ``rows`` are deleted.
        Returns {key tuple: instance}.
        """
        # The base manager sees soft-deleted rows too: a demo row deleted in the portal is restored, and
        # where a live row shares its key with a deleted one, the live one is kept (it comes last).
        manager = model._base_manager
        soft_delete = any(f.name == "deleted_at" for f in model._meta.fields)
        queryset = manager.all()
        if prune_within:
            queryset = queryset.filter(**{f"{prune_within[0]}__in": prune_within[1]})
        if soft_delete:
            queryset = queryset.order_by(models.F("deleted_at").desc(nulls_last=True), "pk")
        existing = {tuple(getattr(obj, f) for f in key): obj for obj in queryset}
        result, to_create, to_update, changed = {}, [], [], set()
        for row in rows:
            if soft_delete:
                row = {**row, "deleted_at": None}
            k = tuple(row[f] for f in key)
            if k in result:
                raise ValueError(f"demo data: duplicate {model.__name__} {k}")
            obj = existing.get(k)
            if obj is None:
                obj = model(**row)
                to_create.append(obj)
            else:
                diff = [f for f, v in row.items() if getattr(obj, f) != v]
                for f in diff:
                    setattr(obj, f, row[f])
                if diff:
                    to_update.append(obj)
                    changed.update(diff)
            result[k] = obj
        stats = self.stats[model]
        if to_create:
            if _has_history(model):
                bulk_create_with_history(to_create, model, batch_size=500)
            else:
                manager.bulk_create(to_create, batch_size=500)
            if any(obj.pk is None for obj in to_create):  # SQLite >= 3.35 and PostgreSQL return the ids
                raise RuntimeError(f"bulk_create did not return the ids of the new {model.__name__} rows")
            stats.created += len(to_create)
        if to_update:
            if _has_history(model):
                bulk_update_with_history(to_update, model, sorted(changed), batch_size=500, manager=manager)
            else:
                manager.bulk_update(to_update, sorted(changed), batch_size=500)
            stats.updated += len(to_update)
        if prune_within:
            stale = [obj.pk for k, obj in existing.items() if k not in result]
            if stale:
                manager.filter(pk__in=stale).delete()
                stats.deleted += len(stale)
        return result

    def sync_m2m(self, through, owner_attname, target_attname, pairs, owner_ids):
        existing = set(
            through.objects.filter(**{f"{owner_attname}__in": owner_ids}).values_list(owner_attname, target_attname)
        )
        wanted = set(pairs)
        missing = sorted(wanted - existing)
        stale = existing - wanted
        if missing:
            through.objects.bulk_create([through(**{owner_attname: a, target_attname: b}) for a, b in missing])
        for a, b in stale:
            through.objects.filter(**{owner_attname: a, target_attname: b}).delete()
        self.stats[through].created += len(missing)
        self.stats[through].deleted += len(stale)

    # -- the refusal

    def check_demo_only(self):
        org_names = {key: name for key, _parent, name, *_rest in ORGS}
        demo_orgs = {(name, org_names.get(parent)) for key, parent, name, *_rest in ORGS}
        problems = []
        for name, parent_name in Organization.objects.values_list("name", "parent__name"):
            if (name, parent_name) not in demo_orgs:
                problems.append(f"organisation “{name}”" + (f" (under “{parent_name}”)" if parent_name else ""))
        demo_users = {u[0]: f"{u[0]}@{DEMO_EMAIL_DOMAIN}" for u in USERS}
        for username, email in User.objects.values_list("username", "email"):
            if demo_users.get(username) != email:
                problems.append(f"user “{username}”")
        demo_programs = {(code, name) for code, name, *_rest in PROGRAMS}
        for code, name in Program.objects.values_list("code", "name"):
            if (code, name) not in demo_programs:
                problems.append(f"program “{name}” ({code})")
        if problems:
            shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            raise DemoRefused(
                "load_demo refuses to run: this database holds data that is not demo data "
                f"({shown}). Load the demo only into an empty database or one that holds the demo alone; "
                "nothing was written."
            )

    # -- the steps

    def run(self):
        self.check_demo_only()
        self.load_orgs()
        self.load_users()
        self.load_programs()
        self.load_pairings()
        self.load_plans()
        self.load_volunteers()
        self.load_needs()
        self.load_activities()
        return self.stats

    def load_orgs(self):
        by_key = {row[0]: row for row in ORGS}
        depth = {}

        def level(key):
            if key not in depth:
                parent = by_key[key][1]
                depth[key] = 0 if parent is None else level(parent) + 1
            return depth[key]

        for current in range(max(level(k) for k in by_key) + 1):
            rows, keys = [], []
            for key, parent, name, short, kind, address in ORGS:
                if level(key) != current:
                    continue
                contact_name, contact_phone = ORG_CONTACTS.get(key, ("", ""))
                rows.append({
                    "parent_id": self.orgs[parent].pk if parent else None, "name": name, "short_name": short,
                    "kind": kind, "address": address, "contact_name": contact_name, "contact_phone": contact_phone,
                    "is_active": True,
                })
                keys.append(key)
            synced = self.sync(Organization, ("parent_id", "name"), rows)
            for key, row in zip(keys, rows, strict=True):
                self.orgs[key] = synced[(row["parent_id"], row["name"])]

    def load_users(self):
        password = settings.PORTAL_DEMO_PASSWORD
        demo_hash = make_password(password, DEMO_PASSWORD_SALT)
        current = dict(User.objects.filter(username__in=DEMO_USERNAMES).values_list("username", "password"))
        rows = []
        for i, (username, full_name, _org, _role, _title, superuser) in enumerate(USERS):
            encoded = current.get(username)
            # Keep an equivalent hash (e.g. one upgraded at login) rather than rewriting it every run.
            if encoded is None or (encoded != demo_hash and not check_password(password, encoded)):
                encoded = demo_hash
            rows.append({
                "username": username, "full_name": full_name, "email": f"{username}@{DEMO_EMAIL_DOMAIN}",
                "phone": phone(100 + i), "is_staff": superuser, "is_superuser": superuser, "is_active": True,
                "password": encoded,
            })
        synced = self.sync(User, ("username",), rows)
        self.users = {k[0]: u for k, u in synced.items()}
        self.sync(
            Membership,
            ("user_id", "organization_id", "role"),
            [
                {"user_id": self.users[u].pk, "organization_id": self.orgs[org].pk, "role": role, "title": title}
                for u, _name, org, role, title, _su in USERS
            ],
        )

    def load_programs(self):
        synced = self.sync(
            Program,
            ("code",),
            [
                {"code": code, "name": name, "office_id": self.orgs[office].pk, "description": description,
                 "monthly_reports": True, "quarterly_reports": True, "is_active": True}
                for code, name, office, description in PROGRAMS
            ],
        )
        self.programs = {k[0]: p for k, p in synced.items()}
        rows = []
        for code, metrics in METRICS.items():
            for order, (mcode, name, unit, aggregation, description) in enumerate(metrics, start=1):
                rows.append({"program_id": self.programs[code].pk, "code": mcode, "name": name, "unit": unit,
                             "aggregation": aggregation, "description": description, "order": order})
        synced = self.sync(Metric, ("program_id", "code"), rows)
        by_id = {p.pk: code for code, p in self.programs.items()}
        self.metrics = {(by_id[pid], mcode): m for (pid, mcode), m in synced.items()}
        # The type catalog may be seeded elsewhere (a migration, the admin): a type of the same name is reused
        # under its own code, and types the demo does not know are left alone.
        code_of_name = dict(ActivityType.objects.values_list("name", "code"))
        codes = {code: code_of_name.get(name, code) for code, name in ACTIVITY_TYPES}
        synced = self.sync(
            ActivityType,
            ("code",),
            [
                {"code": codes[code], "name": name, "order": i, "is_active": True}
                for i, (code, name) in enumerate(ACTIVITY_TYPES, 1)
            ],
        )
        self.types = {code: synced[(codes[code],)] for code, _name in ACTIVITY_TYPES}

    def load_pairings(self):
        rows = []
        for program, supporter, supported, signed, start, end, _branches, goals in PAIRINGS.values():
            rows.append({
                "program_id": self.programs[program].pk, "supporter_id": self.orgs[supporter].pk,
                "supported_id": self.orgs[supported].pk, "status": Pairing.Status.ACTIVE, "signed_on": D(signed),
                "term_start": D(start), "term_end": D(end), "goals": goals,
            })
        synced = self.sync(Pairing, ("program_id", "supporter_id", "supported_id"), rows)
        for key, row in zip(PAIRINGS, rows, strict=True):
            self.pairings[key] = synced[(row["program_id"], row["supporter_id"], row["supported_id"])]
        pairing_ids = [p.pk for p in self.pairings.values()]
        self.sync(
            PairingBranch,
            ("pairing_id", "branch_id"),
            [
                {"pairing_id": self.pairings[key].pk, "branch_id": self.orgs[b].pk, "joined_on": D(spec[3])}
                for key, spec in PAIRINGS.items()
                for b in spec[6]
            ],
            prune_within=("pairing_id", pairing_ids),
        )
        self.sync(
            Liaison,
            ("pairing_id", "side", "name"),
            [
                {"pairing_id": self.pairings[key].pk, "side": side, "name": name, "title": title, "phone": phone(n),
                 "email": email, "user_id": self.users[user].pk if user else None}
                for key, liaisons in LIAISONS.items()
                for side, name, title, n, user, email in liaisons
            ],
        )

    def load_plans(self):
        rows = []
        for key, year in PLAN_ITEMS:
            supporter, supported = (self.orgs[k] for k in PAIRINGS[key][1:3])
            village_user = VILLAGE_USER.get(key)
            signed = D(PAIRINGS[key][3])
            rows.append({
                "pairing_id": self.pairings[key].pk, "year": year,
                "title": f"{year}年度{supporter.short_name or supporter.name}—{supported.short_name or supported.name}结对共建计划",
                "summary": f"{year}年度项目实施清单:明确责任支部、村(社区)对接人、目标和完成时限,按月提示、按季调度。",
                "village_agreed_on": max(D(f"{year}-01-20"), signed + datetime.timedelta(days=14)),
                "village_agreed_by_id": self.users[village_user].pk if village_user else None,
            })
        synced = self.sync(JointPlan, ("pairing_id", "year"), rows)
        for (key, year), row in zip(PLAN_ITEMS, rows, strict=True):
            self.plans[(key, year)] = synced[(row["pairing_id"], year)]
        # Items: progress is filled in after the activities are known (load_activities).
        rows = []
        for (key, year), items in PLAN_ITEMS.items():
            for order, (title, category, owner, due, status, progress, _targets, counterpart) in enumerate(items, 1):
                rows.append({
                    "plan_id": self.plans[(key, year)].pk, "title": title, "category": category,
                    "owner_branch_id": self.orgs[owner].pk, "due_date": D(f"{year}-{due}"), "status": status,
                    "village_counterpart": counterpart, "order": order,
                    "description": f"责任支部:{self.orgs[owner].short_name or self.orgs[owner].name};对接:{counterpart}。",
                })
        self._item_rows = rows

    def load_volunteers(self):
        rows, meta = [], {}
        counter = 0
        for org, groups in VOLUNTEER_GROUPS.items():
            names = set()
            for named_org, name, kind, party, note in NAMED_VOLUNTEERS:
                if named_org == org:
                    names.add(name)
                    rows.append(self._volunteer_row(org, name, kind, party, note, counter))
                    meta[(org, name)] = (kind, note)
                    counter += 1
            for kind, party, count, note in groups:
                made = 0
                while made < count:
                    counter += 1
                    name = person_name(counter)
                    if name in names or name in {u[1] for u in USERS}:
                        continue
                    names.add(name)
                    rows.append(self._volunteer_row(org, name, kind, party, note, counter))
                    meta[(org, name)] = (kind, note)
                    made += 1
        synced = self.sync(Volunteer, ("organization_id", "name"), rows)
        org_key = {o.pk: k for k, o in self.orgs.items()}
        self.volunteers = {(org_key[oid], name): v for (oid, name), v in synced.items()}
        self.vol_meta = meta

        team_rows, members = [], {}
        for key, (org, name, description, founded, member_specs) in TEAMS.items():
            chosen = []
            for morg, note_filter, count in member_specs:
                pool = [
                    vk for vk in self.volunteers
                    if vk[0] == morg and (
                        note_filter is None
                        or (note_filter == "student" and meta[vk][0] == VK.STUDENT)
                        or meta[vk][1] == note_filter
                    )
                ]
                chosen += pool[:count]
            members[key] = chosen
            team_rows.append({
                "organization_id": self.orgs[org].pk, "name": name, "description": description,
                "leader_id": self.volunteers[chosen[0]].pk, "founded_on": D(founded), "is_active": True,
            })
        synced = self.sync(Team, ("organization_id", "name"), team_rows)
        for key, row in zip(TEAMS, team_rows, strict=True):
            self.teams[key] = synced[(row["organization_id"], row["name"])]
        self.team_members = members
        self.sync_m2m(
            Team.members.through, "team_id", "volunteer_id",
            [(self.teams[k].pk, self.volunteers[v].pk) for k, vs in members.items() for v in vs],
            [t.pk for t in self.teams.values()],
        )
        self.sync(
            ServiceOffering,
            ("team_id", "name"),
            [
                {"team_id": self.teams[k].pk, "name": name, "description": description, "is_active": True}
                for k, offerings in OFFERINGS.items()
                for name, description in offerings
            ],
        )

    def _volunteer_row(self, org, name, kind, party, note, n):
        return {
            "organization_id": self.orgs[org].pk, "name": name, "kind": kind, "is_party_member": party,
            # Students are young people: no phone number is kept for them.
            "phone": "" if kind == VK.STUDENT else phone(1000 + n), "note": note, "is_active": True,
        }

    def load_needs(self):
        rows = []
        for key, title, category, wanted_by, masked, status, raised, branch, claimed, rating, comment, desc in NEEDS:
            raised_at = at(D(raised), "09:30")
            rows.append({
                "pairing_id": self.pairings[key].pk, "title": title, "description": desc or title,
                "category": category, "wanted_by": wanted_by, "mask_wanted_by": masked, "status": status,
                "raised_by_id": self.users[VILLAGE_USER[key]].pk if key in VILLAGE_USER else None,
                "raised_at": raised_at,
                "claimed_by_branch_id": self.orgs[branch].pk if branch else None,
                "claimed_at": at(D(claimed), "15:00") if claimed else None,
                # fulfilled_at, rating and rated_at are set from the answering activity in load_activities.
                "fulfilled_at": None, "rating": rating, "rating_comment": comment, "rated_at": None,
            })
        self._need_rows = rows
        self._need_keys = [(n[0], n[1]) for n in NEEDS]

    def load_activities(self):
        specs = _build_activities()
        secretaries = {"zszz_b3": "secretary3", "zszz_b4": "secretary4"}
        zszz_keys = {k for k, parent, *_ in ORGS if parent == "zszz"}

        # The needs first: fulfilled ones take their time and rating date from the answering activity.
        answered = {}
        for spec in specs:
            if spec.get("need"):
                answered[(spec["p"], spec["need"])] = spec
        for nk, row in zip(self._need_keys, self._need_rows, strict=True):
            if row["status"] == NS.FULFILLED:
                spec = answered.get(nk)
                if spec is None:
                    raise ValueError(f"demo data: fulfilled need {nk} has no activity")
                end = spec.get("end") or TYPE_TIMES.get(spec["t"], DEFAULT_TIMES)[1]
                row["fulfilled_at"] = at(spec["d"], end)
                row["rated_at"] = at(spec["d"] + datetime.timedelta(days=2), "10:00")
            else:
                row["rating"], row["rating_comment"] = None, ""
        synced = self.sync(Need, ("pairing_id", "title"), self._need_rows)
        for nk, row in zip(self._need_keys, self._need_rows, strict=True):
            self.needs[nk] = synced[(row["pairing_id"], row["title"])]

        # Activities.
        rows, extras = [], []
        for idx, spec in enumerate(specs):
            p, branch, day = spec["p"], spec["b"], spec["d"]
            if day > LAST_DAY:
                raise ValueError(f"demo data: {spec['title']} is after {LAST_DAY}")
            start, end = spec.get("start"), spec.get("end")
            if not start:
                start, end = TYPE_TIMES.get(spec["t"], DEFAULT_TIMES)
            status = spec.get("status") or Activity.Status.CONFIRMED
            submitted_at = None if status == "draft" else at(day + datetime.timedelta(days=1), "20:30")
            confirmed_at = at(day + datetime.timedelta(days=3), "10:00") if status == "confirmed" else None
            village_user = self.users.get(VILLAGE_USER.get(p, ""))
            creator = secretaries.get(branch) or ("zszz" if branch in zszz_keys else None)
            item = None
            if spec.get("item"):
                item_key = (self.plans[(p, day.year)].pk, spec["item"])
                if not any(r["plan_id"] == item_key[0] and r["title"] == item_key[1] for r in self._item_rows):
                    raise ValueError(f"demo data: no plan item {spec['item']!r} in {p} {day.year}")
                item = item_key
            vols = self._activity_volunteers(spec, idx)
            metrics = spec.get("m", {})
            person_times = sum(
                v for code, v in metrics.items() if self.metrics[(PAIRINGS[p][0], code)].unit == MU.PERSON_TIMES
            )
            rows.append({
                "pairing_id": self.pairings[p].pk, "branch_id": self.orgs[branch].pk,
                "activity_type_id": self.types[spec["t"]].pk, "title": spec["title"], "date": day,
                "start_time": T(start), "end_time": T(end), "place": spec.get("place") or DEFAULT_PLACE[p],
                "description": spec.get("desc") or f"{spec['title']}。",
                "party_members": spec.get("pm", sum(1 for v in vols if self.volunteers[v].is_party_member)),
                "teachers": spec.get("teachers", sum(1 for v in vols if self.vol_meta[v][0] == VK.TEACHER)),
                "students": spec.get("students", sum(1 for v in vols if self.vol_meta[v][0] == VK.STUDENT)),
                "residents_served": spec.get("residents", person_times),
                "status": status, "submitted_at": submitted_at, "confirmed_at": confirmed_at,
                "confirmed_by_id": village_user.pk if village_user and confirmed_at else None,
                "return_comment": spec.get("comment", "") if status == "returned" else "",
                "created_by_id": self.users[creator].pk if creator else None,
                "need_id": self.needs[(p, spec["need"])].pk if spec.get("need") else None,
                "plan_item_id": None,  # set below, once the plan items exist
            })
            extras.append((spec, item, vols))

        # Plan items, with progress from the activities that serve them.
        achieved = defaultdict(lambda: defaultdict(Decimal))
        for (spec, item, _vols), row in zip(extras, rows, strict=True):
            if item is None or row["status"] in ("draft", "returned"):
                continue
            for code, value in spec.get("m", {}).items():
                metric = self.metrics[(PAIRINGS[spec["p"]][0], code)]
                if metric.aggregation == SNAP:
                    achieved[item][code] = Decimal(value)
                else:
                    achieved[item][code] += Decimal(value)
        item_targets = {}
        for (key, year), items in PLAN_ITEMS.items():
            plan_id = self.plans[(key, year)].pk
            for title, _c, _o, _d, status, progress, targets, _cp in items:
                item_targets[(plan_id, title)] = (status, progress, targets)
        for row in self._item_rows:
            status, progress, targets = item_targets[(row["plan_id"], row["title"])]
            if progress is None:
                if status == PS.DONE:
                    progress = 100
                elif status in (PS.PLANNED, PS.CANCELLED) or not targets:
                    progress = 0
                else:
                    done = achieved[(row["plan_id"], row["title"])]
                    ratios = [min(Decimal(1), done[c] / Decimal(t)) for c, t in targets.items()]
                    progress = min(95, int(sum(ratios) / len(ratios) * 100))
            row["progress"] = progress
        synced_items = self.sync(PlanItem, ("plan_id", "title"), self._item_rows)
        self.sync(
            PlanTarget,
            ("item_id", "metric_id"),
            [
                {"item_id": synced_items[(self.plans[(key, year)].pk, title)].pk,
                 "metric_id": self.metrics[(PAIRINGS[key][0], code)].pk, "value": Decimal(target)}
                for (key, year), items in PLAN_ITEMS.items()
                for title, _c, _o, _d, _s, _p, targets, _cp in items
                for code, target in targets.items()
            ],
            prune_within=("item_id", [i.pk for i in synced_items.values()]),
        )
        for (spec, item, _vols), row in zip(extras, rows, strict=True):
            row["plan_item_id"] = synced_items[item].pk if item else None

        synced = self.sync(Activity, ("pairing_id", "branch_id", "date", "title"), rows)
        activities = [synced[(r["pairing_id"], r["branch_id"], r["date"], r["title"])] for r in rows]
        activity_ids = [a.pk for a in activities]

        self.sync_m2m(
            Activity.co_branches.through, "activity_id", "organization_id",
            [(a.pk, self.orgs[b].pk) for a, (spec, _i, _v) in zip(activities, extras, strict=True) for b in spec.get("co", [])],
            activity_ids,
        )
        self.sync(
            ActivityMetricValue,
            ("activity_id", "metric_id"),
            [
                {"activity_id": a.pk, "metric_id": self.metrics[(PAIRINGS[spec["p"]][0], code)].pk,
                 "value": Decimal(value)}
                for a, (spec, _i, _v) in zip(activities, extras, strict=True)
                for code, value in spec.get("m", {}).items()
            ],
            prune_within=("activity_id", activity_ids),
        )
        record_rows = []
        hour_steps = (Decimal("0"), Decimal("0.5"), Decimal("1.0"), Decimal("1.5"))
        for a_index, (a, (spec, _i, vols), row) in enumerate(zip(activities, extras, rows, strict=True)):
            if row["status"] == "draft":
                continue
            start = datetime.datetime.combine(spec["d"], row["start_time"])
            end = datetime.datetime.combine(spec["d"], row["end_time"])
            duration = Decimal((end - start).seconds) / 3600
            for j, vk in enumerate(vols):
                hours = max(Decimal("0.5"), min(Decimal("6.0"), duration - hour_steps[(a_index + j) % 4]))
                verified = row["status"] == "confirmed" and (a_index * 7 + j) % 11 != 3
                recorder = row["created_by_id"]
                record_rows.append({
                    "activity_id": a.pk, "volunteer_id": self.volunteers[vk].pk, "hours": hours,
                    "content": spec.get("service") or self.types[spec["t"]].name,
                    "status": ServiceRecord.Status.VERIFIED if verified else ServiceRecord.Status.RECORDED,
                    "recorded_by_id": recorder, "verified_by_id": recorder if verified else None,
                    "verified_at": row["confirmed_at"] if verified else None,
                })
        self.sync(ServiceRecord, ("activity_id", "volunteer_id"), record_rows, prune_within=("activity_id", activity_ids))

    def _activity_volunteers(self, spec, idx):
        """The volunteers who served: named ones, then a deterministic rotation through the team or pool."""
        chosen = list(spec.get("volunteers", []))
        n = spec.get("n", 4)
        pool = []
        if spec.get("team"):
            pool += self.team_members[spec["team"]]
        for team in spec.get("extra_teams", []):
            pool += self.team_members[team][:3]
        for org in spec.get("pool", []):
            pool += [vk for vk in self.volunteers if vk[0] == org]
        pool = [vk for vk in dict.fromkeys(pool) if vk not in chosen]
        extra = spec.get("extra_teams")
        if pool and n:
            start = (idx * 3) % len(pool)
            rotated = pool[start:] + pool[:start]
            chosen += rotated[: n + (3 * len(extra) if extra else 0)]
        return chosen


DOMAIN_MODELS = (
    "portal.Organization", "portal.User", "portal.Membership",
    "pairings.Program", "pairings.Metric", "pairings.Pairing", "pairings.PairingBranch", "pairings.Liaison",
    "pairings.JointPlan", "pairings.PlanItem", "pairings.PlanTarget",
    "volunteers.Volunteer", "volunteers.Team", "volunteers.ServiceOffering",
    "activities.ActivityType", "activities.Need", "activities.Activity", "activities.ActivityMetricValue",
    "activities.ServiceRecord",
)


def model_counts():
    """Rows per model, including the many-to-many tables and the history tables (for the summary)."""
    counts = {}
    for label in DOMAIN_MODELS:
        model = apps.get_model(label)
        counts[label] = model._base_manager.count()  # soft-deleted rows included
        if _has_history(model):
            counts[f"{label} (history)"] = model.history.count()
    counts["activities.Activity.co_branches"] = Activity.co_branches.through.objects.count()
    counts["volunteers.Team.members"] = Team.members.through.objects.count()
    return counts


def load_demo(*, allow_production=False):
    """Load (or refresh) the demo data in one transaction. Raises DemoRefused, writing nothing, when refused."""
    if getattr(settings, "PRODUCTION", False) and not allow_production:
        raise DemoRefused(
            "load_demo refuses to run with PORTAL_MODE=production: the demo accounts share a published password. "
            "Pass --allow-production if you really mean it."
        )
    with transaction.atomic():
        stats = DemoLoader().run()
        rollups_rebuild()  # the loader writes in bulk (no save() signals): rebuild the pages' rollup
        return stats


def figures_in_database():
    """The seed figures as the database adds them up: {(program, metric): total} (snapshots: the year's value)."""
    result = {}
    for figure in SEED_FIGURES:
        values = ActivityMetricValue.objects.filter(
            metric__program__code=figure.program, metric__code=figure.metric
        )
        if figure.year:
            latest = values.filter(activity__date__year=figure.year).order_by("-activity__date").first()
            result[(figure.program, figure.metric)] = latest.value if latest else None
        else:
            result[(figure.program, figure.metric)] = values.aggregate(total=models.Sum("value"))["total"]
    return result
