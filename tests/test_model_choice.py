"""The panes' model choosers follow the manifest's roles (one list for the engine's
choice and the pane's)."""

from engine.checkpoints import role_models
from tui.model_choice import next_choice


def cycle(role: str) -> list:
    seen, current = [], None
    for _ in range(20):
        current = next_choice(role, current)
        seen.append(current)
        if current is None:
            return seen
    raise AssertionError(f"no way back to auto: {seen}")


def test_the_drum_chooser_is_auto_then_the_roles_models_best_first():
    assert cycle("drums.sample") == [
        "cat-drums_2bar_small.lokl", "cat-drums_2bar_small.hikl", "nade-drums_2bar_full",
        "starter-drums_2bar", None]


def test_the_continuation_chooser_is_the_melody_continue_role():
    assert cycle("melody.continue") == [*role_models("melody.continue"), None]
    assert "performance_with_dynamics" in role_models("melody.continue")
    assert role_models("melody.continue")[-1] == "starter-attention_rnn"


def test_a_model_the_role_does_not_list_goes_back_to_auto():
    assert next_choice("drums.sample", "my-own-drums") is None
