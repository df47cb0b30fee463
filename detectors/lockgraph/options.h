/*
 * options.h - every lockgraph option, in one table.
 *
 * The table below is the only place an option is declared. The parser for
 * LOCKGRAPH_OPTIONS, the launcher's --flags, `help=1` / `lockgraph --help`
 * and the option table in the README (`lockgraph --help=markdown`) are all
 * generated from it.
 *
 * LOCKGRAPH_OPTIONS is a list of key=value separated by ':' or white space,
 * as TSAN_OPTIONS is. A value may be quoted with "..." or '...' to contain
 * ':' or spaces. Booleans take 1/0, true/false, yes/no. An unknown key, a
 * missing '=', a value of the wrong type or out of range is an error that
 * names the option and what was wrong; nothing is silently ignored.
 */
#ifndef LG_OPTIONS_H
#define LG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "alloc.h"
#include "report.h"

/* X(type, name, default, min, max, help) with type BOOL, INT or STR.
 * min and max bound INT values and are ignored for the others. */
#define LG_OPTION_TABLE(X)                                                    \
    X(BOOL, help, 0, 0, 1,                                                    \
      "print every option with its default, then exit")                       \
    X(INT, exitcode, 66, 0, 255,                                              \
      "exit status of a process in which anything was reported "              \
      "(0: keep the program's own status)")                                   \
    X(STR, log, "",                                                           \
      0, 0, "append text reports to this file instead of standard error")    \
    X(STR, json, "", 0, 0,                                                    \
      "append one JSON object per report to this file, one per line")         \
    X(STR, sarif, "", 0, 0,                                                   \
      "write a SARIF 2.1.0 log of every report to this file")                 \
    X(STR, sarif_root, "", 0, 0,                                              \
      "directory the SARIF log's file URIs are relative to (uriBaseId "       \
      "%SRCROOT%); default: the current directory")                           \
    X(STR, dot, "", 0, 0,                                                     \
      "write the lock-order graph to this file at exit (Graphviz DOT, "       \
      "reported cycles in red)")                                              \
    X(STR, suppressions, "", 0, 0,                                            \
      "file of suppressions, one '<kind>:<pattern>' a line; the pattern "     \
      "matches a function, file or module name in the report's stacks")       \
    X(BOOL, default_suppressions, 1, 0, 1,                                    \
      "also apply the built-in suppressions: what a runtime does on purpose " \
      "(the JVM's VM Thread exits holding a lock as the VM ends; see docs/"   \
      "lockgraph-outputs.md)")                                                \
    X(BOOL, halt_on_error, 0, 0, 1,                                           \
      "exit with exitcode right after the first report")                      \
    X(BOOL, symbolize, 1, 0, 1,                                               \
      "turn stack addresses into function and file:line (with addr2line)")    \
    X(INT, stack_depth, 16, 1, 64, "frames kept per stack")                   \
    X(BOOL, run_cycles_only, 0, 0, 1,                                         \
      "report only lock-order cycles this run could have deadlocked on "     \
      "(different threads, not ordered by thread creation or join); by "      \
      "default a cycle one thread made alone is reported too")                \
    X(BOOL, held_stacks, 0, 0, 1,                                             \
      "record the whole stack where each held lock was taken, not only its "  \
      "call site (as TSan's second_deadlock_stack); costs a stack capture "   \
      "per lock acquisition")                                                 \
    X(BOOL, detect_deadlocks, 1, 0, 1,                                        \
      "report a real deadlock (blocked threads waiting for each other in a "  \
      "cycle) and exit with exitcode instead of hanging")                     \
    X(INT, deadlock_ms, 500, 10, 600000,                                      \
      "how long a wait-for cycle must persist before it is reported")         \
    X(BOOL, liveness, 1, 0, 1,                                                \
      "run the liveness monitor: starvation, livelock and stall reports")     \
    X(INT, starvation_ms, 1000, 10, 3600000,                                  \
      "starvation: over a window this long, a thread wanted a lock (blocked " \
      "or retrying it) at least half the time and got under "                 \
      "starvation_share of its fair share ...")                               \
    X(INT, starvation_grants, 100, 1, 100000000,                              \
      "... while other threads were granted that lock at least this often")   \
    X(INT, starvation_share, 1, 0, 100,                                       \
      "starvation: a thread that kept wanting a lock starves when it got "    \
      "under this percentage of its fair share (the window's grants over "    \
      "the threads that got it); 0: only when it never got it")               \
    X(INT, livelock_ms, 1000, 10, 3600000,                                    \
      "livelock: threads kept failing trylocks and backing off, with no "     \
      "progress, for this long")                                              \
    X(INT, stall_ms, 3000, 10, 3600000,                                       \
      "stall: every thread was blocked (no lock cycle) this long; report "    \
      "and exit with exitcode")                                               \
    X(INT, verbosity, 0, 0, 2,                                                \
      "1: say when lockgraph starts and what it checked at exit; "            \
      "2: also every new lock-order edge and every starvation window judged") \
    X(INT, output_timeout_ms, 1000, 0, 600000,                                \
      "how long a write may wait for the reader of an output (standard "     \
      "error included) that is a pipe or FIFO; then that output is dropped "  \
      "(said once)")                                                          \
    X(BOOL, sem_locks, 1, 0, 1,                                               \
      "treat a semaphore that behaves as a binary lock (sem_init to 1, each " \
      "post by the thread that took it; Python's threading.Lock) as a lock")   \
    X(BOOL, summary, 0, 0, 1,                                                 \
      "at exit, say in one line how many reports, locks and threads the "     \
      "process had (the launcher sets it unless --quiet; a process its "     \
      "program starts says it only with reports or more than one thread)")    \
    X(BOOL, follow_children, 1, 0, 1,                                         \
      "0: check only this process: its children inherit LD_PRELOAD without " \
      "lockgraph, and no LOCKGRAPH_OPTIONS")                                  \
    X(BOOL, perturb, 0, 0, 1,                                                 \
      "schedule perturbation: hold threads at synchronisation calls and "     \
      "wake condition-variable waits spuriously, so that rare interleavings " \
      "become common (see 'Perturbation and hunts' in the README)")           \
    X(INT, perturb_seed, 0, 0, 4294967295L,                                   \
      "seed of the perturbation's decisions (0: a fresh one, printed with "   \
      "verbosity=1, in every report and in the exit summary)")                \
    X(INT, perturb_budget, 70, 0, 10000,                                      \
      "the time in which some thread is held stays within this percent of "   \
      "the time in which none is (70: with the perturbation's own cost, a "   \
      "run takes about twice as long at most), beyond 20 ms at the start")    \
    X(INT, perturb_max_ms, 32, 1, 10000,                                      \
      "longest single hold, in milliseconds (each is drawn between a 32nd "   \
      "of it and it)")                                                        \
    X(INT, perturb_spurious, 50, 0, 100,                                      \
      "percent of condition-variable waits that may wake spuriously (only "   \
      "while another thread runs)")

struct lg_options {
#define LG_OPTION_FIELD_BOOL bool
#define LG_OPTION_FIELD_INT long
#define LG_OPTION_FIELD_STR const char *
#define LG_OPTION_FIELD(type, name, def, min, max, help) LG_OPTION_FIELD_##type name;
    LG_OPTION_TABLE(LG_OPTION_FIELD)
#undef LG_OPTION_FIELD
};

/* Every option at its default. */
void lg_options_defaults(struct lg_options *o);

/*
 * Parse `text` (LOCKGRAPH_OPTIONS syntax) over what `o` already holds.
 * String values are copied into memory from `alloc` (strlen + 1 bytes each).
 * Returns 0, or -EINVAL with a one-line message in err ("unknown option
 * 'jsn' (did you mean 'json'?)", "option 'exitcode' wants an integer from 0
 * to 255, not 'abc'", ...), or -ENOMEM when a value cannot be copied.
 * `o` may be partly updated on error.
 */
int lg_options_parse(struct lg_options *o, const char *text,
                     const struct lg_alloc *alloc, char *err, size_t errlen);

/* The option list: one line per option with its default and help, or a
 * Markdown table (| option | default | meaning |) when markdown is true. */
void lg_options_help(struct lg_buf *b, bool markdown);

#endif /* LG_OPTIONS_H */
