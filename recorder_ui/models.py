"""The index: one row per recording file. The JSON files stay the truth; this can be rebuilt at any time."""

from __future__ import annotations

import secrets

from django.db import models

# A row with something wrong in it: an error recorded or met reading it, or tool arguments that are not JSON (the
# list's errors filter). A partial index over these rows keeps that filter to them at any catalog size.
FLAGGED = ~models.Q(error="") | ~models.Q(parse_error="") | models.Q(invalid_tool_args=True)


def new_generation() -> int:
    """A random mark for a root's rows: drawn anew whenever they change, so no two states share one."""
    return secrets.randbits(62)


class Root(models.Model):
    """A named recordings folder (a llama-stack checkout, or its sample recordings)."""

    name = models.CharField(max_length=200, unique=True)
    path = models.CharField(max_length=4096)
    last_indexed_at = models.DateTimeField(null=True, blank=True)
    last_report = models.JSONField(default=dict, blank=True)
    # Drawn anew by every index run that changes the root's rows: pages cache what they computed per generation.
    generation = models.BigIntegerField(default=new_generation)
    # What pages show about this root's rows as a whole (indexer/aggregates.py), written by the same
    # transaction that changes the rows, so no reader sees one without the other.
    summary = models.JSONField(default=dict, blank=True)
    # The recorder whose replay judges the root's files (domain/checkout.py): "" for today's, else the rule of
    # the checkout's own; and that recorder's file in the checkout ("" when it holds none).
    recorder = models.CharField(max_length=32, blank=True, default="")
    recorder_source = models.CharField(max_length=300, blank=True, default="")

    def __str__(self) -> str:
        return self.name


class Catalog(models.Model):
    """Every root's summary added up (indexer/whole.py): what pages show of the whole catalog, in one row
    whatever the number of roots. Written by every index run and root drop, in the transaction that writes the
    roots' summaries; its `sources` name the (root, generation) pairs it adds up, so a reader can tell it is
    current (and adds the roots' summaries up itself when it is not, as before any run wrote it)."""

    summary = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return "catalog"


class RecordingEntry(models.Model):
    """One recording file, with the values that lists filter, sort and sum on."""

    root = models.ForeignKey(Root, on_delete=models.CASCADE, related_name="entries")
    path = models.CharField(max_length=2048)  # relative to the root, with forward slashes
    size = models.BigIntegerField()
    mtime_ns = models.BigIntegerField()
    # The inode's change time: a rewrite that keeps the size and puts the mtime back (cp -p, rsync -t, touch -r)
    # still moves it, as git's index relies on. 0 for rows written before it was kept: such a file is hashed again.
    ctime_ns = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)

    test_id = models.TextField(blank=True)  # "" for no test (null or absent in the file)
    test_file = models.CharField(max_length=1024, blank=True)
    test_name = models.CharField(max_length=1024, blank=True)
    test_params = models.TextField(blank=True)
    suite = models.CharField(max_length=512, blank=True)  # the area folder: "responses", "providers/nvidia"

    kind = models.CharField(max_length=40)
    endpoint = models.CharField(max_length=512, blank=True)
    provider = models.CharField(max_length=512, blank=True)  # the host: "api.openai.com", "0.0.0.0:11434"
    provider_name = models.CharField(max_length=40, blank=True)  # "openai", "ollama" (domain/providers.py)
    model = models.CharField(max_length=512, blank=True)
    streaming = models.BooleanField(default=False)
    chunk_count = models.IntegerField(default=0)

    prompt_tokens = models.BigIntegerField(null=True)
    completion_tokens = models.BigIntegerField(null=True)
    total_tokens = models.BigIntegerField(null=True)
    cached_tokens = models.BigIntegerField(null=True)
    reasoning_tokens = models.BigIntegerField(null=True)
    missing_usage = models.BooleanField(default=False)
    missing_usage_reason = models.TextField(blank=True)
    include_usage = models.BooleanField(null=True)

    tool_call_count = models.IntegerField(default=0)
    tool_names = models.TextField(blank=True)  # space-separated
    invalid_tool_args = models.BooleanField(default=False)
    message_count = models.IntegerField(default=0)
    finish_reason = models.CharField(max_length=64, blank=True)
    request_key = models.CharField(max_length=64, blank=True)  # digest of the normalised request messages
    is_side_call = models.BooleanField(default=False)  # model lists, embeddings, safety checks, tool runs
    error = models.TextField(blank=True)  # recorded exception, HTTP error, or parse error
    parse_error = models.TextField(blank=True)  # set when the file is not a readable recording
    summary = models.TextField(blank=True)
    search_text = models.TextField(blank=True)
    # The replay key (domain/replay.py): the hash today's recorder computes, the name replay opens, and whether
    # this file's name carries it; and what the supersede check needs (domain/lifecycle.py).
    replay_hash = models.CharField(max_length=64, blank=True)
    replay_status = models.CharField(max_length=16, blank=True)
    replay_rule = models.CharField(max_length=120, blank=True)
    replay_name = models.CharField(max_length=100, blank=True)
    name_hash = models.CharField(max_length=64, blank=True, default="")  # paths.name_hash of the file's name
    lineage = models.TextField(blank=True)  # JSON; "" for recordings that cannot have variants
    # indexer.values.parser_version() of the code that wrote the values: a row of another root with the same path,
    # bytes and mark stands for a new file instead of a parse (writer.py). "" for rows no parse wrote.
    parsed_by = models.CharField(max_length=16, blank=True, default="")
    # Kept by the index run over the root's variants (indexer/aggregates.py): the newer row of the same call
    # that supersedes this one, the parameters it adds, and, for a stream without usage, what to do with it.
    superseded_by = models.BigIntegerField(null=True, blank=True)
    superseded_added = models.TextField(blank=True)  # space-separated parameter names
    superseded_by_usage = models.BooleanField(default=False)  # the newer variant carries usage
    usage_fate = models.CharField(max_length=16, blank=True)  # domain.lifecycle.FATES; "" with usage
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["root", "path"], name="unique_root_path")]
        indexes = [
            # A test's rows in one root (the test page, a recording's neighbours): a seek, however many roots
            # hold the test, and a probe per root for which roots do. Without the path: a test id takes up to
            # 2,400 bytes and PostgreSQL's b-tree entries about 2,700 (indexer/values.py).
            models.Index(fields=["test_id", "root"], name="entry_test_root"),
            # A filter the list's default order follows: its rows, in path order, from the filter's value on, so
            # a broad filter's first page reads its own rows, wherever in the paths they lie and whatever the
            # number of roots (PATH_ORDERED in selectors/recording_list.py).
            models.Index(fields=["suite", "path"], name="entry_suite_path"),
            models.Index(fields=["kind", "path"], name="entry_kind_path"),
            models.Index(fields=["model", "path"], name="entry_model_path"),
            models.Index(fields=["replay_status", "path"], name="entry_replay_path"),
            models.Index(fields=["missing_usage", "path"], name="entry_missing_path"),
            models.Index(fields=["provider"]),
            models.Index(fields=["provider_name"]),
            models.Index(fields=["replay_hash"]),
            models.Index(fields=["name_hash"]),
            models.Index(fields=["total_tokens"]),  # PostgreSQL also has it descending, nulls last (0013)
            models.Index(fields=["size"]),
            # A call's variants in one root: the missing-usage page's "a variant has usage", one seek a root.
            models.Index(fields=["test_id", "request_key", "root"], name="entry_call_root"),
            # The list's default order, with the filters' small columns beside it: a filter that keeps many rows
            # walks this index and reads a row only once it matches, not every row it passes over.
            models.Index(
                fields=["path", "kind", "streaming", "tool_call_count", "missing_usage", "replay_status"],
                name="entry_path_walk_2",
            ),
            models.Index(fields=["path"], condition=FLAGGED, name="entry_flagged"),
            models.Index(fields=["root", "superseded_by"]),
            models.Index(fields=["usage_fate"]),
            models.Index(fields=["root", "path"], condition=~models.Q(parse_error=""), name="entry_unreadable"),
        ]

    def __str__(self) -> str:
        return self.path


class TestSummary(models.Model):
    """One test id in one suite in one root: what the tests list shows, kept by the index runs."""

    __test__ = False  # not a test class, whatever its name
    # digest of (root, test_id, suite): test ids have no length limit
    key = models.CharField(max_length=64, unique=True)
    root = models.ForeignKey(Root, on_delete=models.CASCADE, related_name="tests", null=True)
    test_id = models.TextField()
    suite = models.CharField(max_length=512, blank=True)
    test_file = models.CharField(max_length=1024, blank=True)
    test_name = models.CharField(max_length=1024, blank=True)
    test_params = models.TextField(blank=True)
    recordings = models.BigIntegerField(default=0)
    tokens = models.BigIntegerField(null=True)  # None when no recording of the test carries usage
    missing = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["tokens"])]  # no index on the text columns: they have no length limit

    def __str__(self) -> str:
        return self.test_id


class Facet(models.Model):
    """How many of a root's recordings share one value of every list filter: the recordings list counts a
    filtered list by adding these up, not by counting its rows. Kept by the index runs."""

    root = models.ForeignKey(Root, on_delete=models.CASCADE, related_name="facets")
    suite = models.CharField(max_length=512, blank=True)
    test_file = models.CharField(max_length=1024, blank=True)
    kind = models.CharField(max_length=40)
    provider_name = models.CharField(max_length=40, blank=True)
    provider = models.CharField(max_length=512, blank=True)
    model = models.CharField(max_length=512, blank=True)
    streaming = models.BooleanField()
    tools = models.BooleanField()  # tool_call_count > 0
    missing = models.BooleanField()  # missing_usage
    errors = models.BooleanField()  # the list's errors filter (selectors.common.ERROR_FILTER)
    replay_status = models.CharField(max_length=16, blank=True)
    usage_fate = models.CharField(max_length=16, blank=True)
    recordings = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.root_id}: {self.recordings}"
