"""The fair share: how many sessions one instance runs, and what it takes or gives up each round."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from waqtor.cluster.share import Plan, fair_share, plan


def test_the_share_is_the_ceiling_so_shares_cover_every_session() -> None:
    assert fair_share(6, 3) == 2
    assert fair_share(7, 3) == 3
    assert fair_share(1, 3) == 1
    assert fair_share(0, 3) == 0


def test_one_instance_alone_takes_every_free_session() -> None:
    assert plan(wanted=5, instances=1, mine=0, free=5) == Plan(take=5, shed=0)


def test_an_instance_takes_free_sessions_only_up_to_its_share() -> None:
    assert plan(wanted=6, instances=3, mine=1, free=4) == Plan(take=1, shed=0)
    assert plan(wanted=6, instances=3, mine=2, free=2) == Plan(take=0, shed=0)


def test_an_instance_over_its_share_gives_one_session_up_a_round() -> None:
    assert plan(wanted=6, instances=3, mine=6, free=0) == Plan(take=0, shed=1)


def test_with_no_instance_count_yet_it_counts_itself() -> None:
    assert plan(wanted=2, instances=0, mine=0, free=2) == Plan(take=2, shed=0)


@given(st.integers(0, 200), st.integers(1, 20))
def test_the_share_is_the_smallest_that_covers_every_session(sessions: int, instances: int) -> None:
    share = fair_share(sessions, instances)
    assert share * instances >= sessions
    assert (share - 1) * instances < sessions or share == 0


@given(st.integers(0, 100), st.integers(1, 10), st.integers(0, 100), st.integers(0, 100))
def test_a_round_never_both_takes_and_gives_up_nor_goes_past_the_share(wanted: int, instances: int, mine: int,
                                                                        free: int) -> None:
    step = plan(wanted=wanted, instances=instances, mine=mine, free=free)
    assert not (step.take and step.shed)
    assert step.take <= free
    assert mine + step.take <= max(mine, fair_share(wanted, instances))
