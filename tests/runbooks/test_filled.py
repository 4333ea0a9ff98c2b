from __future__ import annotations

from router.runbooks.filled import FilledCommand, filled_step
from router.runbooks.model import Command, Step

STEP = Step(
    number=2,
    title="Drain {{ $labels.node }}",
    line=12,
    text=["Move the pods off {{ $labels.node }} first."],
    commands=[
        Command(language="bash", code="kubectl drain {{ $labels.node }}\n", line=14),
        Command(code="kubectl get nodes\n", line=18),
    ],
    verification=["{{ $labels.node }} shows SchedulingDisabled"],
)
NODES = [{"node": "node-a"}, {"node": "node b"}, {"node": "node-a"}, {"node": "node-c"}]


def test_one_alert_fills_text_as_text_and_commands_for_the_shell() -> None:
    filled = filled_step(STEP, [{"node": "node b"}])
    assert filled.title == "Drain node b"
    assert filled.text == ["Move the pods off node b first."]
    assert filled.verification == ["node b shows SchedulingDisabled"]
    assert filled.commands == [
        FilledCommand(language="bash", fillings=["kubectl drain 'node b'\n"]),
        FilledCommand(fillings=["kubectl get nodes\n"]),
    ]


def test_several_alerts_show_each_distinct_command_up_to_the_limit() -> None:
    filled = filled_step(STEP, NODES, limit=2)
    drain, nodes = filled.commands
    assert drain.fillings == ["kubectl drain node-a\n", "kubectl drain 'node b'\n"]
    assert drain.more == 1
    assert (nodes.fillings, nodes.more) == (["kubectl get nodes\n"], 0)
    assert filled.title == "Drain node-a, node b +1 more"
    assert filled_step(STEP, NODES).commands[0].fillings[-1] == "kubectl drain node-c\n"


def test_no_alerts_leave_the_step_as_written() -> None:
    filled = filled_step(STEP, [])
    assert filled.title == STEP.title
    assert filled.text == STEP.text
    assert [c.fillings for c in filled.commands] == [[c.code] for c in STEP.commands]
    assert filled.verification == STEP.verification


def test_a_missing_label_stays_visible() -> None:
    filled = filled_step(STEP, [{"pod": "api-0"}])
    assert filled.commands[0].fillings == ["kubectl drain {{ $labels.node }}\n"]
    assert filled.title == "Drain {{ $labels.node }}"


def test_in_a_block_only_the_commands_naming_a_label_repeat_in_place() -> None:
    step = Step(
        number=1,
        title="Confirm",
        line=1,
        commands=[
            Command(
                code="kubectl -n {{ $labels.namespace }} exec {{ $labels.pod }} -- \\\n"
                "  psql -c 'SHOW POOLS;'\n"
                'psql "$DB" -c "SELECT 1"\n',
                line=2,
            )
        ],
    )
    pods = [{"namespace": "prod", "pod": f"pgbouncer-{n}"} for n in range(4)]
    (command,) = filled_step(step, pods).commands
    assert command.fillings == [
        "kubectl -n prod exec pgbouncer-0 -- \\\n  psql -c 'SHOW POOLS;'\n"
        "kubectl -n prod exec pgbouncer-1 -- \\\n  psql -c 'SHOW POOLS;'\n"
        "kubectl -n prod exec pgbouncer-2 -- \\\n  psql -c 'SHOW POOLS;'\n"
        'psql "$DB" -c "SELECT 1"\n'
    ]
    assert command.more == 1


def test_a_block_whose_every_command_names_a_label_repeats_whole() -> None:
    step = Step(
        number=1,
        title="Drain",
        line=1,
        commands=[
            Command(
                code="kubectl cordon {{ $labels.node }}\nkubectl drain {{ $labels.node }}\n", line=2
            )
        ],
    )
    (command,) = filled_step(step, [{"node": "a"}, {"node": "b"}]).commands
    assert command.fillings == [
        "kubectl cordon a\nkubectl drain a\n",
        "kubectl cordon b\nkubectl drain b\n",
    ]
