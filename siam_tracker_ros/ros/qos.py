"""Image subscription QoS that matches the publishers (Jazzy's BEST_AVAILABLE, also on Humble).

A reliable subscription receives nothing from a best-effort publisher, and on default Fast DDS a
best-effort subscription receives only a few percent of large frames (ros-on-pypi.md §3, §5).
So with qos 'auto' the node subscribes reliable when every publisher on the topic is reliable,
best effort otherwise (or while there is none), and re-subscribes when that changes.
"""
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

try:  # rclpy >= 4 (Iron on); Humble's rclpy 3 has only the older module name
    from rclpy.event_handler import PublisherEventCallbacks, SubscriptionEventCallbacks
except ImportError:  # pragma: no cover  (Humble)
    from rclpy.qos_event import PublisherEventCallbacks, SubscriptionEventCallbacks

RELIABLE = ReliabilityPolicy.RELIABLE
BEST_EFFORT = ReliabilityPolicy.BEST_EFFORT


def choose_reliability(mode: str, publisher_reliabilities, current=None):
    """The reliability to subscribe with.

    Args:
        mode: 'auto', 'reliable' or 'best_effort'.
        publisher_reliabilities: ReliabilityPolicy of each publisher on the topic.
        current: the reliability in use, kept while 'auto' sees no publisher.

    Returns:
        ReliabilityPolicy.RELIABLE or ReliabilityPolicy.BEST_EFFORT.
    """
    if mode == 'reliable':
        return RELIABLE
    if mode == 'best_effort':
        return BEST_EFFORT
    policies = list(publisher_reliabilities)
    if not policies:
        return current if current is not None else BEST_EFFORT
    return RELIABLE if all(p == RELIABLE for p in policies) else BEST_EFFORT


def image_qos(reliability, depth: int) -> QoSProfile:
    """Keep-last, volatile image QoS with the given reliability."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=int(depth), reliability=reliability)


def publisher_reliabilities(node, topic: str) -> list:
    """Reliability of every publisher on `topic` (a fully qualified name), other than ours."""
    return [info.qos_profile.reliability for info in node.get_publishers_info_by_topic(topic)]


def policy_name(reliability) -> str:
    """'reliable' or 'best_effort'."""
    return 'reliable' if reliability == RELIABLE else 'best_effort'


def without_event_handlers(kind: str):
    """Event callbacks that create no QoS event handlers, for a publisher ('publisher') or
    subscription ('subscription') that the node destroys while it spins.

    rclpy's executor can die with `InvalidHandle: cannot use Destroyable because destruction
    was requested` when an entity's event handler is destroyed while another thread builds the
    wait set (ros2/rclpy#1284; seen here on Kilted when the camera subscription is re-made and
    when a lifecycle transition destroys the outputs). Without handlers there is nothing to
    race; the default 'incompatible QoS' warning they gave is replaced by `mismatch_warning`.
    """
    callbacks = {'publisher': PublisherEventCallbacks,
                 'subscription': SubscriptionEventCallbacks}[kind]
    return callbacks(use_default_callbacks=False)


def mismatch_warning(reliability, publisher_reliabilities) -> str:
    """Why a subscription of `reliability` receives nothing from some publishers ('' if it
    receives from all): a reliable reader matches no best-effort writer. (The node's image
    subscription is volatile, so durability never mismatches.)"""
    policies = list(publisher_reliabilities)
    if reliability != RELIABLE or all(p == RELIABLE for p in policies):
        return ''
    return (f'{sum(p != RELIABLE for p in policies)} of {len(policies)} publisher(s) offer '
            'best_effort: a reliable subscription receives nothing from them (set qos to '
            'auto or best_effort)')
