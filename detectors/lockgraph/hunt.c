/*
 * hunt.c - `lockgraph --hunt=N [--hunt-ok-status=S] [--hunt-all]
 *           [--hunt-dir=DIR] [--hunt-timeout=SECONDS] -- PROGRAM [ARGS...]`.
 *
 * Runs PROGRAM up to N times under lockgraph with schedule perturbation,
 * each time with a fresh seed, and stops at the first failure: an exit
 * status other than the normal one (0, or --hunt-ok-status), death by a
 * signal, a run that outlasts --hunt-timeout, or any lockgraph report (read
 * from the run's JSON log, so it counts whatever exitcode= says). It then
 * prints the seed and the command that replays it. --hunt-all keeps going,
 * to measure how often the program fails. Every failing run's output is
 * kept in a directory the hunt names; the others are deleted.
 *
 * The launcher (launcher.c) parses its own flags and sets LD_PRELOAD and
 * LOCKGRAPH_OPTIONS as for a single run; the hunt then adds
 * perturb=1:perturb_seed=<seed> (and a JSON log) to each run's options.
 */
#include "hunt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "options.h"
#include "perturb.h"

const char lg_hunt_usage[] =
    "  --hunt=N           run PROGRAM up to N times with --perturb and a fresh seed\n"
    "                     each time; stop at the first failure (an exit status other\n"
    "                     than --hunt-ok-status, a signal, a lockgraph report, or a\n"
    "                     run longer than --hunt-timeout), print its seed and the\n"
    "                     command that replays it, and the failure rate\n"
    "  --hunt-ok-status=S the normal exit status (default 0)\n"
    "  --hunt-all         do all N runs, to measure the failure rate\n"
    "  --hunt-dir=DIR     keep failing runs' output in DIR (default: a new\n"
    "                     lockgraph-hunt-XXXXXX directory in $TMPDIR or /tmp)\n"
    "  --hunt-timeout=S   a run that takes longer than S seconds fails (is killed)\n";

static int
hunt_number(const char *flag, const char *value, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || !*value || *end || errno || v < min || v > max) {
        fprintf(stderr, "lockgraph: --%s wants a number from %ld to %ld, not '%s'\n", flag,
                min, max, value ? value : "");
        return -1;
    }
    *out = v;
    return 1;
}

int
lg_hunt_flag(struct lg_hunt *h, const char *name, const char *value, int argc, char **argv,
             int *i)
{
    static const char *const with_value[] = { "hunt", "hunt_ok_status", "hunt_dir",
                                              "hunt_timeout" };
    bool takes = false;
    if (strncmp(name, "hunt", 4) != 0)
        return 0;
    for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
        takes |= strcmp(name, with_value[k]) == 0;
    if (strcmp(name, "hunt_all") == 0) {
        if (value) {
            fprintf(stderr, "lockgraph: --hunt-all takes no value\n");
            return -1;
        }
        h->all = true;
        return 1;
    }
    if (!takes) {
        fprintf(stderr, "lockgraph: unknown flag '--%s' (the hunt's are --hunt, "
                        "--hunt-ok-status, --hunt-all, --hunt-dir, --hunt-timeout)\n", name);
        return -1;
    }
    if (!value) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "lockgraph: --%s needs a value\n", name);
            return -1;
        }
        value = argv[++*i];
    }
    if (strcmp(name, "hunt") == 0)
        return hunt_number("hunt", value, 1, 1000000, &h->runs);
    if (strcmp(name, "hunt_ok_status") == 0)
        return hunt_number("hunt-ok-status", value, 0, 255, &h->ok_status);
    if (strcmp(name, "hunt_timeout") == 0)
        return hunt_number("hunt-timeout", value, 1, 86400, &h->timeout_s);
    if (!*value) {
        fprintf(stderr, "lockgraph: --hunt-dir needs a directory\n");
        return -1;
    }
    h->dir = value;
    return 1;
}

/* ---- the replay command ---------------------------------------------------- */

/* Print a word so that a POSIX shell reads it back as it is. */
static void
put_word(FILE *f, const char *w)
{
    if (*w && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                        "-_./=:,+@%") == strlen(w)) {
        fputs(w, f);
        return;
    }
    fputc('\'', f);
    for (; *w; w++)
        if (*w == '\'')
            fputs("'\\''", f);
        else
            fputc(*w, f);
    fputc('\'', f);
}

static bool
is_hunt_arg(const char *a)
{
    return strncmp(a, "--hunt", 6) == 0
           && (a[6] == '\0' || a[6] == '=' || a[6] == '-' || a[6] == '_');
}

/* The launcher's own command line with the hunt's flags replaced by the
 * seed: run in the same environment, it replays that run's decisions. */
static void
put_replay(FILE *f, int argc, char **argv, int prog, uint64_t seed)
{
    put_word(f, argv[0]);
    for (int i = 1; i < prog; i++) {
        if (strcmp(argv[i], "--") == 0)
            continue;
        if (is_hunt_arg(argv[i])) {
            /* a hunt flag given as "--flag value" takes the next word too */
            bool all = strcmp(argv[i] + 6, "-all") == 0 || strcmp(argv[i] + 6, "_all") == 0;
            if (!strchr(argv[i], '=') && !all)
                i++;
            continue;
        }
        fputc(' ', f);
        put_word(f, argv[i]);
    }
    fprintf(f, " --perturb --perturb-seed=%llu --", (unsigned long long)seed);
    for (int i = prog; i < argc; i++) {
        fputc(' ', f);
        put_word(f, argv[i]);
    }
    fputc('\n', f);
}

/* ---- one run ---------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void
on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct outcome {
    int status;        /* waitpid's */
    bool timed_out;
    long reports;      /* lines in the JSON log; -1 unreadable */
    double seconds;
};

static long
count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    long n = 0;
    int c, last = '\n';
    while ((c = getc(f)) != EOF) {
        n += c == '\n';
        last = c;
    }
    n += last != '\n';
    fclose(f);
    return n;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the program once with `options` as LOCKGRAPH_OPTIONS, its output in
 * `log`; -errno when it could not be started. */
static int
run_once(char **prog, const char *options, const char *log, const char *json, long json_before,
         long timeout_s, struct outcome *o)
{
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    double start = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (pid == 0) {
        setpgid(0, 0); /* its own group: a timeout or Ctrl-C ends all of it */
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        setenv("LOCKGRAPH_OPTIONS", options, 1);
        signal(SIGINT, SIG_DFL);
        execvp(prog[0], prog);
        fprintf(stderr, "lockgraph: cannot run '%s': %s\n", prog[0], strerror(errno));
        _exit(127);
    }
    close(fd);
    setpgid(pid, pid);
    memset(o, 0, sizeof *o);
    for (;;) {
        pid_t w = waitpid(pid, &o->status, timeout_s || interrupted ? WNOHANG : 0);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            break;
        if (interrupted || (timeout_s && now_s() - start > (double)timeout_s)) {
            o->timed_out = !interrupted;
            kill(-pid, SIGKILL);
            waitpid(pid, &o->status, 0);
            break;
        }
        if (w == 0 || (w < 0 && errno == EINTR)) {
            struct timespec nap = { 0, 10000000 };
            nanosleep(&nap, NULL);
        }
    }
    o->seconds = now_s() - start;
    long n = count_lines(json);
    o->reports = n < 0 ? -1 : n - json_before;
    return 0;
}

/* Why a run failed (NULL: it did not). */
static const char *
failure(const struct outcome *o, long ok_status, char *buf, size_t len)
{
    if (o->timed_out)
        snprintf(buf, len, "still running after the timeout (killed)");
    else if (WIFSIGNALED(o->status))
        snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(o->status),
                 strsignal(WTERMSIG(o->status)));
    else if (o->reports > 0)
        snprintf(buf, len, "%ld lockgraph report%s, exit status %d", o->reports,
                 o->reports == 1 ? "" : "s", WEXITSTATUS(o->status));
    else if (WEXITSTATUS(o->status) != ok_status)
        snprintf(buf, len, "exit status %d", WEXITSTATUS(o->status));
    else
        return NULL;
    return buf;
}

/* ---- the hunt ------------------------------------------------------------------ */

static uint64_t
fresh_seed(void)
{
    uint64_t e;
    if (getrandom(&e, sizeof e, 0) != (ssize_t)sizeof e)
        e = (uint64_t)now_s() * 1000003u ^ ((uint64_t)getpid() << 20) ^ (uint64_t)clock();
    return lg_pt_seed_from(e);
}

static void *
hunt_alloc(void *ctx, size_t n)
{
    (void)ctx;
    return calloc(1, n);
}

static void
hunt_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    free(p);
}

int
lg_hunt_run(const struct lg_hunt *h, int argc, char **argv, int prog)
{
    /* The user's own JSON log, if any, is where reports land; otherwise
     * each run gets one of its own in the hunt's directory. */
    const char *env = getenv("LOCKGRAPH_OPTIONS");
    struct lg_options o;
    const struct lg_alloc heap = { hunt_alloc, hunt_free, NULL };
    char err[256];
    lg_options_defaults(&o);
    if (env && lg_options_parse(&o, env, &heap, err, sizeof err) < 0) {
        fprintf(stderr, "lockgraph: %s\n", err); /* the launcher checked: cannot happen */
        return 2;
    }
    if (o.perturb_seed != 0) {
        fprintf(stderr, "lockgraph: --hunt picks a fresh seed for every run: drop "
                        "--perturb-seed (or replay that seed without --hunt)\n");
        return 2;
    }
    char dir[4096];
    if (h->dir) {
        snprintf(dir, sizeof dir, "%s", h->dir);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "lockgraph: cannot create --hunt-dir '%s': %s\n", dir,
                    strerror(errno));
            return 1;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/lockgraph-hunt-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            fprintf(stderr, "lockgraph: cannot create a directory for the hunt in %s: %s\n",
                    tmp && *tmp ? tmp : "/tmp", strerror(errno));
            return 1;
        }
    }
    bool tty = isatty(STDERR_FILENO);
    fprintf(stderr, "lockgraph hunt: up to %ld run%s of %s with perturbation; the output of "
                    "failing runs goes to %s\n", h->runs, h->runs == 1 ? "" : "s", argv[prog],
            dir);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    long done = 0, failed = 0;
    double total_s = 0;
    for (long k = 1; k <= h->runs && !interrupted; k++) {
        uint64_t seed = fresh_seed();
        char log[4200], json[4200], opts[8192];
        snprintf(log, sizeof log, "%s/run-%ld.log", dir, k);
        if (o.json[0])
            snprintf(json, sizeof json, "%s", o.json);
        else
            snprintf(json, sizeof json, "%s/run-%ld.json", dir, k);
        long before = o.json[0] ? count_lines(json) : 0;
        int w = snprintf(opts, sizeof opts, "%s%sperturb=1:perturb_seed=%llu%s%s%s",
                         env && *env ? env : "", env && *env ? ":" : "",
                         (unsigned long long)seed, o.json[0] ? "" : ":json=\"",
                         o.json[0] ? "" : json, o.json[0] ? "" : "\"");
        if (w < 0 || (size_t)w >= sizeof opts) {
            fprintf(stderr, "lockgraph: LOCKGRAPH_OPTIONS is too long for the hunt\n");
            return 2;
        }
        struct outcome out;
        int e = run_once(argv + prog, opts, log, json, before, h->timeout_s, &out);
        if (e < 0) {
            fprintf(stderr, "lockgraph: cannot run '%s': %s\n", argv[prog], strerror(-e));
            return 127;
        }
        if (interrupted)
            break;
        done++;
        total_s += out.seconds;
        char why[200];
        const char *bad = failure(&out, h->ok_status, why, sizeof why);
        if (!bad) {
            unlink(log);
            if (!o.json[0])
                unlink(json);
            if (tty)
                fprintf(stderr, "\rlockgraph hunt: run %ld of %ld: ok (%ld failed)   ", k,
                        h->runs, failed);
            else
                fprintf(stderr, "lockgraph hunt: run %ld of %ld, seed %llu: ok (%.2f s)\n", k,
                        h->runs, (unsigned long long)seed, out.seconds);
            continue;
        }
        failed++;
        fprintf(stderr, "%slockgraph hunt: run %ld of %ld, seed %llu: FAILED: %s (%.2f s)\n"
                        "  output: %s\n  replay: ", tty ? "\r" : "", k, h->runs,
                (unsigned long long)seed, bad, out.seconds, log);
        put_replay(stderr, argc, argv, prog, seed);
        if (!h->all)
            break;
    }
    if (tty)
        fputc('\n', stderr);
    if (interrupted)
        fprintf(stderr, "lockgraph hunt: interrupted\n");
    fprintf(stderr, "lockgraph hunt: %ld failure%s in %ld run%s (%.0f%%)%s, %.2f s per run\n",
            failed, failed == 1 ? "" : "s", done, done == 1 ? "" : "s",
            done ? 100.0 * (double)failed / (double)done : 0.0,
            failed && !h->all ? "; stopped at the first" : "", done ? total_s / (double)done : 0.0);
    if (failed)
        fprintf(stderr, "lockgraph hunt: failing runs' output is in %s\n", dir);
    else if (!h->dir && rmdir(dir) == 0)
        fprintf(stderr, "lockgraph hunt: nothing to keep (%s removed)\n", dir);
    return interrupted ? 130 : failed ? 1 : 0;
}
