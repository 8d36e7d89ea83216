"""Index of the bad-input and fault corpus: every reliability case of the
package, by theme, and the tests that keep it handled.

The corpus is the tests/test_bad_input_*.py modules, tests/test_dsp_faults.py and
tests/test_cli_examples.py, plus the bad-input tests of the modules listed below.
This file checks that every theme still has its tests (a renamed or deleted test
fails here) and that every test of the corpus modules belongs to a theme, so
nothing is left out of the index. Counting the corpus::

    pytest --collect-only -q tests/test_bad_input_*.py tests/test_dsp_faults.py \\
        tests/test_cli_examples.py
"""

# ruff: noqa: E501 (test ids are long; they are kept whole to be greppable)
from __future__ import annotations

import ast
from pathlib import Path

import pytest

HERE = Path(__file__).parent

#: Theme -> tests ("module::function") that cover it.
THEMES: dict[str, list[str]] = {
    "cache manifest cut short, torn or glued rows; resume verifies what it read": [
        "test_bad_input_cache::test_torn_last_row_is_dropped_with_warning_and_redone",
        "test_bad_input_cache::test_torn_first_and_only_row",
        "test_bad_input_cache::test_row_glued_onto_a_torn_one_is_recovered",
        "test_bad_input_cache::test_non_row_json_line_is_reported",
        "test_bad_input_cache::test_manifest_cut_anywhere_never_breaks_open_or_resume",
        "test_bad_input_cache::test_resume_redoes_a_cut_short_array",
        "test_bad_input_cache::test_resume_redoes_an_array_of_the_wrong_shape",
        "test_bad_input_cache::test_reading_a_damaged_array_names_it_and_the_fix",
        "test_bad_input_cache::test_resume_with_another_recipe_is_refused",
        "test_data_cache::test_rerun_skips_done_and_resumes",
    ],
    "cache paths outside the cache, temp files, workers outliving a parent or too many": [
        "test_bad_input_cache::test_manifest_file_outside_the_cache_is_refused",
        "test_bad_input_cache::test_io_error_while_writing_an_array_leaves_no_temp_file",
        "test_bad_input_cache::test_workers_die_with_a_killed_parent",
        "test_bad_input_cache::test_n_jobs_is_checked_and_capped",
    ],
    "broken recordings are skipped with their reason, nothing silently lost": [
        "test_data_cache::test_bad_input_corpus_nothing_silently_lost",
        "test_data_cache::test_in_memory_raws_with_nan_and_no_report",
    ],
    "engine: impossible sizes, threads, overflow, absurd bands, aliasing": [
        "test_dsp_faults::test_impossible_allocations_raise_memory_error",
        "test_dsp_faults::test_issue16_oom_cases_raise_memory_error",
        "test_dsp_faults::test_n_threads_capped_and_validated",
        "test_dsp_faults::test_float32_overflow_is_an_error",
        "test_dsp_faults::test_absurd_bands_raise_value_error",
        "test_dsp_faults::test_preprocess_chunked_out_aliasing_input_is_refused",
        "test_dsp_faults::test_preprocess_chunked_path_is_atomic",
        "test_dsp_errors::test_no_input_aborts_the_interpreter",
        "test_dsp_errors::test_nonfinite_names_channel_and_sample",
        "test_dsp_errors::test_invalid_band",
        "test_dsp_errors::test_bad_factors_native",
        "test_dsp_errors::test_wrong_ndim_dtype_and_empty",
    ],
    "repeated electrodes: one rule on every path, recorded in the manifest": [
        "test_bad_input_files::test_rule_is_in_the_skip_reasons",
        "test_bad_input_files::test_duplicate_electrodes",
        "test_bad_input_files::test_mne_running_numbers_are_seen_as_repeats",
        "test_bad_input_files::test_any_repeat_of_a_montage_electrode_is_refused",
        "test_bad_input_files::test_dsp_preprocess_refuses_a_repeat_and_ignores_other_repeats",
        "test_bad_input_files::test_dsp_preprocess_raw_refuses_an_mne_renamed_repeat",
        "test_bad_input_files::test_build_cache_from_a_folder",
        "test_bad_input_files::test_build_cache_from_mne_read_recordings",
        "test_bad_input_files::test_build_cache_from_preloaded_raws",
        "test_bad_input_files::test_elm_preprocess",
        "test_bad_input_files::test_non_string_channel_names_get_the_clear_type_error",
        "test_dsp_errors::test_duplicate_electrodes_rejected",
    ],
    "reports: hostile text in linear time, size bound, binary flagged": [
        "test_bad_input_reports::test_linear_splitter_agrees_with_the_old_one",
        "test_bad_input_reports::test_sentence_splitting_is_linear_on_hostile_text",
        "test_bad_input_reports::test_oversized_report_file_is_refused",
        "test_bad_input_reports::test_random_binary_without_nul_is_flagged",
        "test_bad_input_reports::test_real_text_in_any_encoding_is_not_flagged",
        "test_bad_input_reports::test_binary_with_nul_and_empty_file",
        "test_bad_input_reports::test_segment_report_rejects_unknown_mode",
    ],
    "training: NaN loss, empty epochs, resume checks, no silent overwrite": [
        "test_bad_input_training::test_nan_loss_stops_at_once_naming_step_and_recordings",
        "test_bad_input_training::test_zero_batch_epoch_has_its_own_error",
        "test_bad_input_training::test_resume_against_another_corpus_is_refused",
        "test_bad_input_training::test_latest_pointer_outside_its_folder_is_refused",
        "test_bad_input_training::test_fresh_run_into_a_finished_run_keeps_its_final_weights",
        "test_bad_input_training::test_resume_from_a_damaged_checkpoint_names_it",
        "test_bad_input_training::test_resume_with_other_recipe_settings_is_said",
        "test_bad_input_training::test_recordings_left_out_of_training_are_said",
        "test_training_pretrain::test_sigkill_mid_epoch_then_resume_is_bit_identical",
        "test_training_pretrain::test_resume_refuses_other_plan_and_fresh_run_moves_old_checkpoints",
    ],
    "bundles: non-finite weights or temperature, huge configs, unreadable files": [
        "test_bad_input_files::test_bundle_with_non_finite_weights_is_refused",
        "test_bad_input_files::test_bundle_with_bad_temperature_is_refused",
        "test_bad_input_files::test_huge_config_is_refused_before_allocating",
        "test_bad_input_files::test_huge_eeg_tower_is_refused_before_allocating",
        "test_bad_input_files::test_unreadable_config_is_a_value_error",
        "test_bad_input_files::test_garbage_weights_file_is_a_value_error",
        "test_bad_input_files::test_good_bundle_still_loads",
        "test_models_bundle::test_strict_loading_names_bad_keys",
        "test_models_bundle::test_missing_files_and_unsafe_config",
    ],
    "zero-shot class offsets: set, classes and finite values checked on load, "
    "construction and save; calibration windows and labels checked": [
        "test_bad_input_files::test_bundle_with_bad_prompt_offsets_is_refused",
        "test_bad_input_files::test_bad_prompt_offsets_set_later_are_refused",
        "test_bad_input_files::test_calibration_windows_and_labels_are_checked",
    ],
    "write_edf: no nan/inf or cut numbers in the header, no labels cut into one": [
        "test_bad_input_files::test_write_edf_refuses_non_finite_samples",
        "test_bad_input_files::test_write_edf_refuses_a_bad_phys_range",
        "test_bad_input_files::test_write_edf_refuses_non_finite_rates",
        "test_bad_input_files::test_write_edf_refuses_amplitudes_the_header_cannot_hold",
        "test_bad_input_files::test_write_edf_refuses_a_range_that_does_not_fit_the_header",
        "test_bad_input_files::test_write_edf_refuses_labels_truncated_into_duplicates",
        "test_bad_input_files::test_write_edf_keeps_deliberate_repeats_and_long_unique_labels",
        "test_bad_input_files::test_written_header_fields_are_finite_numbers",
    ],
    "command line: one-line errors with exit 2, bugs named, examples run": [
        "test_bad_input_cli::test_bad_command_line_is_one_line_error",
        "test_bad_input_cli::test_cases_cover_every_subcommand",
        "test_bad_input_cli::test_a_bug_is_reported_as_such_and_debug_shows_the_traceback",
        "test_bad_input_cli::test_as_a_user_runs_it",
        "test_bad_input_cli::test_training_entry_point_as_torchrun_runs_it",
        "test_bad_input_cli::test_numeric_options_accept_only_valid_values",
        "test_bad_input_cli::test_read_only_folder",
        "test_cli_examples::test_examples_are_found_for_every_command",
        "test_cli_examples::test_every_example_parses",
        "test_cli_examples::test_help_examples_run_as_written",
        "test_training_pretrain::test_cli_reports_bad_arguments",
    ],
}

#: Modules whose every test must appear in THEMES.
CORPUS = [
    "test_bad_input_cache",
    "test_bad_input_cli",
    "test_bad_input_files",
    "test_bad_input_reports",
    "test_bad_input_training",
    "test_dsp_faults",
    "test_cli_examples",
]


def _tests(module: str) -> set[str]:
    tree = ast.parse((HERE / f"{module}.py").read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


@pytest.mark.parametrize("theme", list(THEMES))
def test_every_theme_has_its_tests(theme):
    for ref in THEMES[theme]:
        module, name = ref.split("::")
        assert name in _tests(module), f"{ref} ({theme}) no longer exists"


@pytest.mark.parametrize("module", CORPUS)
def test_every_corpus_test_is_indexed(module):
    indexed = {r.split("::")[1] for refs in THEMES.values() for r in refs}
    missing = sorted(_tests(module) - indexed)
    assert not missing, f"add {module}::{missing} to a theme of THEMES"
