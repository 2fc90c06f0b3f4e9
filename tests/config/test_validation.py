"""Malformed configs: every problem named with its key path and fix, exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bsf_engine.config import default_config, parse_config
from bsf_engine.errors import ConfigError

CASES = [
    (
        "[model\narch = 1",
        "not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 7)",
    ),
    ('[modle]\narch = "vgg11"', "[modle]: unknown section; did you mean [model]?"),
    ('[model]\nachr = "vgg11"', "[model] achr: unknown key; did you mean 'arch'?"),
    ('[train]\nepochs = "ten"', '[train] epochs = "ten": expected an integer'),
    ("[train]\nlr = true", "[train] lr = true: expected a number"),
    (
        '[model]\narch = "vgg12"',
        "[model] arch = \"vgg12\": unknown arch; did you mean 'vgg19'? "
        "(choose one of vggtiny, vgg11, vgg16, vgg19, resnet18, resnet34)",
    ),
    (
        '[data]\ndataset = "imagenet"',
        "[data] dataset = \"imagenet\": unknown dataset; did you mean 'tiny-imagenet'? "
        "(choose one of digits, mnist, fashion-mnist, mnist5k, cifar10, cifar100, "
        "tiny-imagenet, imagefolder)",
    ),
    ('[model]\narch = "vgg11"\nic = 20', "[model] ic = 20: vgg11 has 8 blocks (0-7)"),
    ('[model]\narch = "resnet18"\nic = [2, 8]', "[model] ic = [2, 8]: resnet18 has 8 blocks (0-7)"),
    ("[model]\nic = -1", "[model] ic = -1: vggtiny has 6 blocks (0-5)"),
    ("[train]\nlr = -0.1", "[train] lr = -0.1: must be > 0"),
    ("[convert]\npercentile = 120", "[convert] percentile = 120: must be in (0, 100]"),
    (
        "[train]\nepochs = 200\nmilestones = [60, 300]",
        "[train] milestones = [60, 300]: 300 is not between 1 and epochs - 1 = 199",
    ),
    (
        '[data]\ndataset = "cifar10"',
        "[data] root: cifar10 needs the folder holding cifar-10-batches-py/; "
        'set root = "/path/to/datasets"',
    ),
    (
        "[data]\ntune_size = 5000",
        "[data] tune_size = 5000: digits has 1438 training images; leave some for training",
    ),
    (
        '[data]\ndataset = "cifar10"\nroot = "/x"\nimage_size = 64',
        "[data] image_size = 64: only imagefolder images are resized; cifar10 images are 32×32 "
        "(remove the key)",
    ),
    (
        '[train]\ndevice = "gpu"',
        '[train] device = "gpu": must be "auto", "cpu", "cuda" or "cuda:N"',
    ),
    (
        '[simulate]\nsplits = ["val"]',
        "[simulate] splits = [\"val\"]: 'val' is not a split (use tune and/or test)",
    ),
    ("data = 3", "data = 3: expected a [data] table"),
    ("[convert]\nepochs = 3", "[convert] epochs: unknown key; it belongs in [train]"),
    (
        "[fusion]\nalpha_min = 5.0\nalpha_max = 2.0",
        "[fusion] alpha_max = 2: must be above alpha_min = 5",
    ),
    # non-finite and out-of-range numbers (issue 11 §4)
    ("[model]\nwidth = inf", "[model] width = inf: must be a finite number"),
    ("[model]\nwidth = 1000", "[model] width = 1000: must be at most 16"),
    ("[train]\nlr = inf", "[train] lr = inf: must be a finite number"),
    ("[train]\nlr = 1e6", "[train] lr = 1000000.0: must be at most 10"),
    ("[train]\nic_weight_goal = nan", "[train] ic_weight_goal = nan: must be a finite number"),
    ("[fusion]\nalpha_max = inf", "[fusion] alpha_max = inf: must be a finite number"),
    ("[simulate]\ninit_mem = -inf", "[simulate] init_mem = -inf: must be a finite number"),
    ("[simulate]\ninit_mem = 1.5", "[simulate] init_mem = 1.5: must be in [0, 1)"),
    ("[energy]\nadc = inf", "[energy] adc = inf: must be a finite number"),
    (
        "[simulate]\ntimesteps = 1000000000",
        "[simulate] timesteps = 1000000000: must be at most 1,000,000",
    ),
    (
        "[fusion]\nalpha_step = 1e-12",
        "[fusion] alpha_step = 1e-12: the α grid from 0 to 100 would hold "
        "100,000,000,000,001 values, at most 100,000; raise alpha_step or narrow "
        "alpha_min … alpha_max",
    ),
    # a known key of another section says where it belongs, not a look-alike
    ("[train]\ntimesteps = 3000", "[train] timesteps: unknown key; it belongs in [simulate]"),
    (
        '[model]\ndevice = "cpu"',
        "[model] device: unknown key; it belongs in [train], [convert] or [simulate]",
    ),
    (
        '[simulate]\ndevice = "tpu"',
        '[simulate] device = "tpu": must be "auto", "cpu", "cuda" or "cuda:N"',
    ),
    # a repeated key or table names itself and both lines
    (
        "[train]\nlr = 0.1\nepochs = 3\nlr = 0.2\n",
        "[train] lr: set twice (lines 2 and 4); keep one",
    ),
    (
        '[train]\nlr = 0.1\n[model]\narch = "vgg11"\n[train]\nepochs = 2\n',
        "[train]: declared twice (lines 1 and 5); merge them",
    ),
    (
        '[data]\ndataset = "digits"\n[simulate]\nsplits = [\n  "tune",\n]\nsplits = ["test"]\n',
        "[simulate] splits: set twice (lines 4 and 7); keep one",
    ),
]


@pytest.mark.parametrize(("text", "message"), CASES)
def test_parse_config_reports_the_exact_problem(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert info.value.problems == [message]


@pytest.mark.parametrize(("text", "message"), CASES)
def test_validate_command_prints_one_line_and_exits_2(cli, make_project, text, message) -> None:
    folder = make_project(text)
    result = cli("validate", folder)
    assert result.exit_code == 2
    assert result.stderr == f"error: {folder / 'project.toml'}: {message}\n"
    assert result.stdout == ""


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config('[model]\nachr = 1\nwidth = "wide"\n[train]\nepochz = 3\n')
    assert info.value.problems == [
        "[model] achr: unknown key; did you mean 'arch'?",
        '[model] width = "wide": expected a number',
        "[train] epochz: unknown key; did you mean 'epochs'?",
    ]


def test_defaults_are_resolved_from_dataset_and_arch() -> None:
    config = default_config()
    assert config.data.dataset == "digits"
    assert config.ics == [2]
    assert config.data.augment is False
    assert config.train.milestones == [60, 120, 160]
    vgg = parse_config('[data]\ndataset = "cifar10"\nroot = "/x"\n[model]\narch = "vgg19"')
    assert vgg.ics == [6] and vgg.data.augment is True
    ics = parse_config("[model]\nic = [3, 1]\n[train]\nepochs = 10")
    assert ics.ics == [1, 3] and ics.train.milestones == [3, 6, 8]


def test_int_is_accepted_where_a_number_is_expected() -> None:
    assert parse_config("[train]\nlr = 1").train.lr == 1.0


def test_hash_ignores_where_and_how_fast_but_not_what() -> None:
    base = parse_config("")
    assert base.hash_of("data", "train") == parse_config(
        '[data]\nnum_workers = 7\n[train]\ndevice = "cpu"'
    ).hash_of("data", "train")
    assert base.hash_of("train") != parse_config("[train]\nlr = 0.2").hash_of("train")
    # an explicit default hashes like an omitted one
    assert base.hash_of("model") == parse_config('[model]\narch = "vggtiny"').hash_of("model")


def test_missing_root_folder_is_reported_by_validate(cli, make_project, tmp_path) -> None:
    folder = make_project('[data]\ndataset = "cifar10"\nroot = "nowhere"\n')
    result = cli("validate", folder)
    assert result.exit_code == 2
    assert result.stderr == (
        f'error: [data] root = "nowhere": {folder / "nowhere"} does not exist; point it at the '
        "folder holding cifar-10-batches-py/\n"
    )


def test_real_process_exit_code_and_no_traceback(make_project) -> None:
    folder = make_project('[model]\narch = "vgg11"\nic = 20\n')
    proc = subprocess.run(
        [sys.executable, "-m", "bsf_engine", "validate", str(folder)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {folder / 'project.toml'}: [model] ic = 20: vgg11 has 8 blocks (0-7)"
    ]
    assert "Traceback" not in proc.stderr


def test_a_byte_order_mark_is_accepted(cli, tmp_path) -> None:
    folder = tmp_path / "bom"
    folder.mkdir()
    (folder / "project.toml").write_text("[train]\nlr = 0.02\n", encoding="utf-8-sig")
    assert (folder / "project.toml").read_bytes().startswith(b"\xef\xbb\xbf")
    result = cli("validate", folder)
    assert result.exit_code == 0, result.stderr
    assert parse_config("\ufeff[train]\nlr = 0.02\n").train.lr == 0.02


def test_a_repeat_inside_a_multiline_string_is_not_a_duplicate() -> None:
    text = '[project]\ndescription = """\nlr = 1\n"""\n[train]\nlr = 0.1\nlr = 0.2\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert info.value.problems == ["[train] lr: set twice (lines 6 and 7); keep one"]


def test_a_key_added_later_leaves_the_hashes_of_older_projects_alone() -> None:
    """[data] train_size came after projects were trained: unset, it is not hashed, so
    their results stay done; set, it makes them stale."""
    import hashlib
    import json

    from bsf_engine.config import NON_SEMANTIC_KEYS, parse_config

    config = parse_config("")
    # how the hash was made before the key existed
    values = config.section_dict("data")
    for key in (*NON_SEMANTIC_KEYS["data"], "train_size"):
        values.pop(key)
    text = json.dumps({"data": values}, sort_keys=True, default=str)
    assert config.hash_of("data") == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert parse_config("[data]\ntrain_size = 100").hash_of("data") != config.hash_of("data")
