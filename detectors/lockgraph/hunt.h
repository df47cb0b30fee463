/*
 * hunt.h - the launcher's --hunt: run a program many times with schedule
 * perturbation and fresh seeds until it fails (hunt.c).
 */
#ifndef LG_HUNT_H
#define LG_HUNT_H

#include <stdbool.h>

struct lg_hunt {
    long runs;       /* --hunt=N; 0: no hunt */
    long ok_status;  /* --hunt-ok-status=S: the normal exit status */
    long timeout_s;  /* --hunt-timeout=S; 0: none */
    const char *dir; /* --hunt-dir=DIR; NULL: a new one in $TMPDIR */
    bool all;        /* --hunt-all: do all the runs, for the failure rate */
};

/* The hunt's flags for the launcher's --help. */
extern const char lg_hunt_usage[];

/*
 * One of the launcher's flags, `name` without its dashes and with '_' for
 * '-', `value` what followed '=' (NULL: none; then the value, if the flag
 * takes one, is argv[++*i]). Returns 1 when it was a hunt flag, 0 when it
 * was not, -1 (after saying why on stderr) when its value is wrong.
 */
int lg_hunt_flag(struct lg_hunt *h, const char *name, const char *value, int argc, char **argv,
                 int *i);

/*
 * Run the hunt of argv[prog...] once the launcher has set LD_PRELOAD and
 * LOCKGRAPH_OPTIONS; argv[1..prog-1] are the launcher's own arguments, for
 * the replay command. Returns the launcher's exit status: 0 no failure, 1 a
 * failure found, 2 a usage error, 127 the program cannot be run, 130
 * interrupted.
 */
int lg_hunt_run(const struct lg_hunt *h, int argc, char **argv, int prog);

#endif /* LG_HUNT_H */
