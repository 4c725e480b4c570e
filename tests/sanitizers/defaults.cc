// Sanitizer run-time defaults, linked into every executable of a
// -DSLOGATE_SANITIZE build (top-level CMakeLists.txt). The sanitizer run-times
// call these hooks at start-up; options set in the environment (ASAN_OPTIONS,
// UBSAN_OPTIONS, LSAN_OPTIONS, TSAN_OPTIONS) are applied after them and win.
//
// Suppression files live next to this file; every entry there names
// third-party code and says why the report is harmless. A report in project
// code is a bug to fix, never an entry.

extern "C" {

// Declared first for -Wmissing-declarations; the run-times hold weak
// definitions that these replace.
const char* __asan_default_options();   // NOLINT(bugprone-reserved-identifier)
const char* __ubsan_default_options();  // NOLINT(bugprone-reserved-identifier)
const char* __lsan_default_options();   // NOLINT(bugprone-reserved-identifier)
const char* __tsan_default_options();   // NOLINT(bugprone-reserved-identifier)

// ASan: also catch use of a returned function's locals (async handlers that
// captured a stack reference) and dynamic-initialisation order bugs.
__attribute__((visibility("default"), used)) const char* __asan_default_options() {
  return "detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1";
}

// UBSan: the build has -fno-sanitize-recover=all (the first report ends the
// process); these make the report carry a stack trace.
__attribute__((visibility("default"), used)) const char* __ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1:suppressions=" SLOGATE_SANITIZER_DIR "/ubsan.supp";
}

// LeakSanitizer (part of ASan on Linux).
__attribute__((visibility("default"), used)) const char* __lsan_default_options() {
  return "suppressions=" SLOGATE_SANITIZER_DIR "/lsan.supp:print_suppressions=0";
}

// TSan: stop at the first race (halt_on_error), with both stacks of a lock
// inversion; report_signal_unsafe stays on.
__attribute__((visibility("default"), used)) const char* __tsan_default_options() {
  return "halt_on_error=1:second_deadlock_stack=1:history_size=4:"
         "suppressions=" SLOGATE_SANITIZER_DIR "/tsan.supp:print_suppressions=0";
}

}  // extern "C"
