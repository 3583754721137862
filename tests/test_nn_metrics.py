"""nn.accuracy: the label encoding is an argument (or the loss's, in fit), never a guess that
changes with the batch."""

from __future__ import annotations

import math

import pytest
from conftest import require_module

from autograd import Value
from nn import accuracy
from nn.metrics import predict_class

NAN = math.nan


def test_all_positive_targets_are_not_silently_read_as_0_1_labels():
    # [0.3, 0.2] with targets [1, 1] was 0.0: no -1 present, so 0/1 labels and threshold 0.5
    with pytest.raises(ValueError, match="encoding='01' or 'pm1', or a threshold"):
        accuracy([0.3, 0.2], [1, 1])
    assert accuracy([0.3, 0.2], [1, 1], encoding="pm1") == 1.0
    assert accuracy([0.3, 0.2], [1, 1], encoding="01") == 0.0
    assert accuracy([0.3, 0.2], [1, 1], encoding="01", threshold=0.0) == 1.0
    assert accuracy([0.3, 0.2], [1, 1], threshold=0.25) == 0.5


# (outputs, targets, keyword arguments, accuracy)
CASES = [
    ([0.7, -0.2, 0.1], [1, -1, -1], {}, 2 / 3),                       # -1 present: pm1
    ([0.7, 0.2, 0.6], [1, 0, 0], {}, 2 / 3),                          # 0 present: 01, 0.5
    ([0.7, -0.2], [1, 0], dict(threshold=0.0), 1.0),                  # logits
    ([[0.1, 2.0, 0.3], [5.0, 1.0, 0.0]], [1, 2], {}, 0.5),            # argmax
    ([[0.1, 2.0, 0.3], [5.0, 1.0, 0.0]], [1.0, 0.0], {}, 1.0),        # float indices
    ([0.7, -0.2], [1, 1], dict(encoding="pm1"), 0.5),
    ([0.7, -0.2], [1, -1], dict(encoding="pm1", threshold=1.0), 0.5),
    ([0.4, 0.6], [0, 1], dict(encoding="01"), 1.0),
    ([Value(0.4), [Value(0.6)]], [0, 1], dict(encoding="01"), 1.0),   # Values, 1-lists
    ([[Value(1.0), Value(0.0)]], [0], dict(encoding="index"), 1.0),
    ([0.4], [0], dict(encoding="index"), 1.0),                        # one score: class 0
    ([NAN, 0.9], [-1, 1], dict(encoding="pm1"), 0.5),                 # NaN is never right
    ([NAN, 0.9], [0, 1], {}, 0.5),
    ([[NAN, 1.0], [0.0, 1.0]], [0, 1], {}, 0.5),
    ([[1.0, NAN], [0.0, 1.0]], [0, 1], {}, 0.5),
]


@pytest.mark.parametrize("outputs, targets, kwargs, expected", CASES)
def test_accuracy_table(outputs, targets, kwargs, expected):
    assert accuracy(outputs, targets, **kwargs) == pytest.approx(expected)


@pytest.mark.parametrize("outputs, targets, kwargs, match", [
    ([0.1, 0.2], [0, -1], {}, "mix -1 and 0"),
    ([0.1, 0.2], [1, 0], dict(encoding="pm1"), r"target 0 is not a label of encoding 'pm1'"),
    ([0.1, 0.2], [1, -1], dict(encoding="01"), r"target -1 is not a label of encoding '01'"),
    ([0.1, 0.2], [1, 5], {}, r"target 5 is not a binary label"),
    ([[0.1, 0.2]], [2], {}, r"target 2 is not a class index 0\.\.1"),
    ([[0.1, 0.2]], [0.5], {}, r"target 0\.5 is not a class index"),
    ([[0.1, 0.2]], ["1"], {}, r"str '1'"),
    ([[0.1, 0.2]], [1], dict(encoding="01"), "one score per example"),
    ([0.1], [1], dict(encoding="sign"), "unknown encoding 'sign'"),
    ([0.1], [1, 0], {}, "1 outputs but 2 targets"),
    ([], [], {}, "no examples"),
])
def test_accuracy_refuses_targets_that_do_not_fit_the_encoding(outputs, targets, kwargs,
                                                                match):
    with pytest.raises(ValueError, match=match):
        accuracy(outputs, targets, **kwargs)


@pytest.mark.parametrize("outputs, targets, kwargs, error, match", [
    (["a"], [1], {}, TypeError, r"an output must be a number or a Value.*str 'a'"),
    ([[0.1, None]], [1], {}, TypeError, r"NoneType None"),
    ([True], [1], {}, TypeError, r"bool True"),
    ([0.1], [1], dict(threshold=math.nan), ValueError, r"threshold must be a finite.*nan"),
    ([0.1], [1], dict(threshold=math.inf), ValueError, r"threshold must be a finite.*inf"),
    ([0.1], [1], dict(threshold="0.5"), TypeError, r"threshold must be a number"),
    (5, [1], {}, TypeError, r"outputs must be a list \(or array\) of examples, got int 5"),
])
def test_accuracy_refuses_outputs_that_are_not_scores(outputs, targets, kwargs, error, match):
    """["a"] raised AttributeError; threshold=nan gave 0.0 whatever the scores."""
    with pytest.raises(error, match=match):
        accuracy(outputs, targets, **kwargs)


def test_numpy_arrays_are_accepted():
    np = require_module("numpy")
    assert accuracy(np.array([0.7, -0.2, 0.1]), np.array([1, -1, -1])) == pytest.approx(2 / 3)
    assert accuracy(np.array([[0.1, 2.0], [5.0, 1.0]]), np.array([1, 1])) == 0.5


def _reference(score, target, encoding, threshold):
    """The predicted class written out per encoding, independently of nn.metrics."""
    if encoding == "index":
        if any(math.isnan(s) for s in score):
            return False
        best = max(score)
        return score.index(best) == target
    (s,) = score
    if math.isnan(s):
        return False
    low, high = (-1, 1) if encoding == "pm1" else (0, 1)
    default = 0.0 if encoding == "pm1" else 0.5
    return (high if s > (default if threshold is None else threshold) else low) == target


def test_property_accuracy_is_the_mean_of_per_example_predictions():
    """With the encoding given, each example is judged alone: the accuracy of a batch is the
    mean over its examples, whatever the other targets are (the old guess flipped with the
    batch), and equals the per-encoding formula."""
    from hypothesis import given
    from hypothesis import strategies as st

    score = st.one_of(st.floats(-3, 3), st.just(NAN), st.just(0.0), st.just(0.5))

    @st.composite
    def batches(draw):
        encoding = draw(st.sampled_from(["index", "pm1", "01"]))
        k = draw(st.integers(2, 4)) if encoding == "index" else 1
        n = draw(st.integers(1, 12))
        outputs = [draw(st.lists(score, min_size=k, max_size=k)) for _ in range(n)]
        labels = list(range(k)) if encoding == "index" else \
            ([-1, 1] if encoding == "pm1" else [0, 1])
        targets = [draw(st.sampled_from(labels)) for _ in range(n)]
        threshold = None if encoding == "index" else draw(st.one_of(  # nan: refused
            st.none(), st.floats(-3, 3), st.just(0.0), st.just(0.5)))
        return outputs, targets, encoding, threshold

    @given(batches())
    def check(batch):
        outputs, targets, encoding, threshold = batch
        if encoding != "index":
            outputs = [o[0] for o in outputs] if len(outputs) % 2 else outputs  # both forms
        total = accuracy(outputs, targets, encoding, threshold)
        alone = [accuracy([o], [t], encoding, threshold) for o, t in zip(outputs, targets)]
        assert total == pytest.approx(sum(alone) / len(alone))
        expected = [_reference(o if isinstance(o, list) else [o], t, encoding, threshold)
                    for o, t in zip(outputs, targets)]
        assert total == pytest.approx(sum(expected) / len(expected))
        assert [predict_class(o, encoding, threshold) == t for o, t in zip(outputs, targets)] \
            == expected

    check()
