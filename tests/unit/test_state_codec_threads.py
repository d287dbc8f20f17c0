"""Saving and restoring cases from many threads at once gives exactly what one thread gives (the web's request
threads and the timer worker share one serializer)."""

from __future__ import annotations

import threading

from engine.workflow import state_codec
from tests.bpmn.harness import Drive
from tests.bpmn.test_dorset_paths import PROCESS, commission, imr_forms, prepare_imr, to_decision

AGENCIES = ["social_care", "police", "education", "health_commissioning"]
ROUNDS = 15


def eight_different_cases() -> list[Drive]:
    """Dorset cases at eight different points: before the decision, and IMRs at several stages."""
    cases = []
    for n in range(8):
        d = Drive(PROCESS)
        if n:
            to_decision(d, agencies=AGENCIES[: 1 + n % len(AGENCIES)])
        if n > 1:
            commission(d)
        if n > 2:
            d.complete("imr_letter", imr_forms("social_care")[0][1], agency="social_care")
            prepare_imr(d, "social_care", upto=["prep_interviews", "prep_chronology", "prep_draft", "prep_staff_read",
                                               "prep_signoff"][n - 3])
        cases.append(d)
    return cases


def test_eight_threads_dump_and_restore_different_cases_exactly_as_one_thread_does() -> None:
    cases = eight_different_cases()
    # One thread: each case dumped, restored and dumped again (a restored workflow lists its sub-processes in a
    # settled order; from there on dump(restore(x)) == x).
    alone = [state_codec.dump(state_codec.restore(state_codec.dump(d.case.workflow), d.process.spec,
                                                  d.process.subprocess_specs)) for d in cases]
    assert len(set(alone)) == 8, "the cases are at eight different points"
    start = threading.Barrier(8, timeout=30)
    seen: list[list[str]] = [[] for _ in cases]
    failures: list[BaseException] = []

    def work(index: int) -> None:
        process = cases[index].process
        try:
            start.wait()
            state = alone[index]
            for _ in range(ROUNDS):  # each round restores the previous round's dump, so a slip would compound
                workflow = state_codec.restore(state, process.spec, process.subprocess_specs)
                state = state_codec.dump(workflow)
                seen[index].append(state)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    for index, states in enumerate(seen):
        assert len(states) == ROUNDS
        assert all(state == alone[index] for state in states), f"case {index} changed when dumped beside others"


def test_the_encoder_mode_one_thread_is_dumping_in_is_not_seen_by_another() -> None:
    # SpiffWorkflow keeps this flag on the shared registry; a worker dumping would flip it under a request thread.
    registry = state_codec._REGISTRY
    registry._encoder_mode = True
    try:
        seen: list[bool] = []
        other = threading.Thread(target=lambda: seen.append(registry._encoder_mode))
        other.start()
        other.join(10)
        assert seen == [False]
        assert registry._encoder_mode is True
    finally:
        registry._encoder_mode = False
