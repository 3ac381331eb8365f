# SPDX-License-Identifier: MIT
"""Build a small C program against peftq through pkg-config, from the build tree and
from an installed copy, and run it on a safetensors file."""

import os
import pathlib
import shlex
import shutil
import subprocess

import gi
import pytest

gi.require_version("Peftq", "1.0")
from gi.repository import Peftq  # noqa: E402

PROGRAM = r"""
#include <peftq/peftq.h>
#include <stdio.h>

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PeftqSafetensorsFile) file = NULL;
  g_auto(GStrv) names = NULL;

  if (argc != 2)
    return 2;

  file = peftq_safetensors_file_open (argv[1], &error);
  if (file == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }

  printf ("peftq %s, %u tensors\n", PEFTQ_VERSION_S, peftq_safetensors_file_get_n_tensors (file));
  names = peftq_safetensors_file_get_tensor_names (file);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(PeftqTensor) tensor = peftq_safetensors_file_get_tensor (file, names[i], &error);
      g_autofree char *shape = peftq_tensor_format_shape (tensor);

      printf ("%s %s %s\n", names[i], peftq_dtype_to_string (peftq_tensor_get_dtype (tensor)), shape);
    }

  return 0;
}
"""


def build_environment():
    """The environment for the compiler, pkg-config and meson, without the sanitizer
    preload that the test environment of an ASan build sets for interpreters."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


@pytest.fixture
def compiler():
    command = shlex.split(os.environ.get("PEFTQ_TEST_CC", ""))
    if not command:
        pytest.skip("PEFTQ_TEST_CC is not set; run the test through meson")
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config is not installed")
    return command


@pytest.fixture
def build_root():
    root = os.environ.get("PEFTQ_BUILD_ROOT", "")
    if not root:
        pytest.skip("PEFTQ_BUILD_ROOT is not set; run the test through meson")
    return pathlib.Path(root)


@pytest.fixture
def sample(tmp_path):
    writer = Peftq.SafetensorsWriter.new()
    writer.add_tensor("lora_A.weight", Peftq.Tensor.new_from_floats([1.0] * 6, [2, 3]))
    writer.add_tensor("lora_B.weight", Peftq.Tensor.new(Peftq.DType.F16, [3, 2]))
    path = tmp_path / "adapter.safetensors"
    writer.write(str(path))
    return path


def compile_and_run(compiler, pkg_config_path, library_path, tmp_path, sample):
    env = build_environment()
    env["PKG_CONFIG_PATH"] = str(pkg_config_path)
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "peftq-1.0"], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    source = tmp_path / "open.c"
    source.write_text(PROGRAM)
    program = tmp_path / "open"

    compiled = subprocess.run(
        [*compiler, "-std=c11", "-Wall", "-Wextra", "-Werror", str(source), "-o", str(program), *flags],
        env=env,
        capture_output=True,
        text=True,
    )
    assert compiled.returncode == 0, compiled.stderr

    run_env = dict(os.environ)
    run_env["LD_LIBRARY_PATH"] = str(library_path)
    result = subprocess.run([str(program), str(sample)], env=run_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines(), flags


def check_output(lines):
    assert lines[0] == f"peftq {Peftq.MAJOR_VERSION}.{Peftq.MINOR_VERSION}.{Peftq.MICRO_VERSION}, 2 tensors"
    assert sorted(lines[1:]) == ["lora_A.weight F32 [2, 3]", "lora_B.weight F16 [3, 2]"]


def test_program_builds_against_build_tree(compiler, build_root, tmp_path, sample):
    lines, _ = compile_and_run(compiler, build_root / "meson-uninstalled", build_root / "peftq", tmp_path, sample)
    check_output(lines)


def test_program_builds_against_installed_copy(compiler, build_root, tmp_path, sample):
    meson = shutil.which("meson")
    if meson is None:
        pytest.skip("meson is not on PATH")
    stage = tmp_path / "stage"
    installed = subprocess.run(
        [meson, "install", "-C", str(build_root), "--no-rebuild", "--quiet", "--destdir", str(stage)],
        env=build_environment(),
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr

    # Point the installed .pc file at the staged prefix; the other packages keep theirs.
    (pc_file,) = stage.rglob("peftq-1.0.pc")
    lines = pc_file.read_text().splitlines()
    prefix = next(line for line in lines if line.startswith("prefix=")).split("=", 1)[1]
    relocated = tmp_path / "pkgconfig"
    relocated.mkdir()
    (relocated / "peftq-1.0.pc").write_text(
        "\n".join(f"prefix={stage}{prefix}" if line.startswith("prefix=") else line for line in lines) + "\n"
    )
    headers = list(stage.rglob("include/peftq-1.0/peftq/peftq.h"))
    assert len(headers) == 1

    output, flags = compile_and_run(compiler, relocated, pc_file.parent.parent, tmp_path, sample)

    check_output(output)
    # Only the installed include folder is used, not the source or build tree.
    assert not any(str(build_root) in flag for flag in flags)
