import pytest

from canonical.models import ORDER_TRANSITIONS, OrderStatus
from canonical.state import IllegalTransition, TransitionTable


def test_illegal_order_transition_names_from_and_to():
    with pytest.raises(IllegalTransition) as err:
        ORDER_TRANSITIONS.check(OrderStatus.SHIPPED, OrderStatus.ALLOCATED)
    assert "from 'shipped' to 'allocated'" in str(err.value)
    assert err.value.allowed == ["closed", "invoiced", "partially_shipped"]


def test_every_order_status_is_in_the_transition_table():
    assert ORDER_TRANSITIONS.states == {choice.value for choice in OrderStatus}


def test_terminal_states_allow_nothing():
    assert ORDER_TRANSITIONS.is_final(OrderStatus.CLOSED)
    assert ORDER_TRANSITIONS.is_final(OrderStatus.CANCELLED)


def test_table_refuses_targets_that_are_not_states():
    with pytest.raises(ValueError):
        TransitionTable("Broken", {"a": {"b"}})
