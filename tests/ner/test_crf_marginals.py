"""CrfTagger.marginals: crfsuite's exact per-token marginals as arrays."""

import numpy as np
import pytest

from projner.ner import CrfTagger
from projner.ner.base import tag_names
from projner.types import Sentence


@pytest.fixture(scope="module")
def crf(toy_train):
    return CrfTagger(max_iterations=30, progress=False).fit(toy_train)


def test_marginals_shape_rows_and_agreement_with_predict(crf, toy_test):
    sents = [s.unlabelled() for s in toy_test[:10]] + [Sentence(())]
    marg = crf.marginals(sents)
    tags = tag_names(crf.labels)
    assert len(marg) == len(sents)
    assert marg[-1].shape == (0, len(tags))
    pred = crf.predict(sents)
    for s, m, p in zip(sents, marg, pred):
        assert m.shape == (len(s), len(tags))
        assert np.allclose(m.sum(axis=1), 1.0, atol=1e-6)
        assert (m >= 0).all() and (m <= 1 + 1e-9).all()
        # a predicted span's first token is most probably its B- tag on this easy toy task
        for sp in p.spans:
            assert tags[int(m[sp.start].argmax())] == f"B-{sp.label}"


def test_marginals_custom_columns(crf, toy_test):
    sents = [s.unlabelled() for s in toy_test[:3]]
    full = crf.marginals(sents)
    tags = tag_names(crf.labels)
    sub = crf.marginals(sents, tags=["B-PER", "B-MISC", "O"])
    for f, s in zip(full, sub):
        assert np.allclose(s[:, 0], f[:, tags.index("B-PER")])
        assert (s[:, 1] == 0).all()  # unknown tag
        assert np.allclose(s[:, 2], f[:, tags.index("O")])
