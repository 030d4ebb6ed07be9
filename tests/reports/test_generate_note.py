"""The 生成报告 page says which pairings get a report: those whose term overlaps the period (reports.selectors.
reported_q), not "each active pairing"."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_generate_page_says_which_pairings_are_reported(client, world):
    client.force_login(world["users"]["admin"])
    response = client.get(reverse("reports:generate"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "结对期限与该期间有重叠（或该期间有已计入活动）的每个结对" in page
    assert "有效结对" not in page
