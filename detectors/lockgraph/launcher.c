/*
 * launcher.c - `lockgraph [OPTIONS] [--] PROGRAM [ARGS...]`.
 *
 * Runs an unmodified program with liblockgraph.so preloaded. Every option of
 * LG_OPTION_TABLE is also a flag (--json=PATH, --json PATH, --halt-on-error,
 * --no-symbolize); the flags become LOCKGRAPH_OPTIONS, after whatever the
 * environment already holds so that the command line wins. Options are
 * checked here with the library's own parser, so a typo fails before the
 * program starts, with the same message the library would give.
 *
 * Before it runs the program it looks at it, and warns when lockgraph cannot
 * check it: a static or 32-bit executable (the loader never loads the
 * library), a set-user-ID, set-group-ID or capability-raising one (the
 * loader ignores LD_PRELOAD), one built with a sanitizer (the library turns
 * itself off in it). Unless --quiet, the library closes with one line
 * (summary=1): "lockgraph: 0 reports; N locks, M threads checked". The
 * program's own process always says it; a process it starts (checked too,
 * unless --follow-children=0) only when it had reports or more than one
 * thread, so that `lockgraph -- make -j` does not close with a line per
 * compiler.
 *
 * Exit status: that of the program (this process becomes it), 2 for a usage
 * error or a bad option, 1 when the library cannot be found, 127 when the
 * program cannot be run. With --hunt=N (hunt.c) the launcher runs the program
 * many times instead and exits with the hunt's status.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "hunt.h"
#include "options.h"

#ifndef LG_VERSION
#define LG_VERSION "0.1.0"
#endif

/* Where the library sits relative to the directory of this program: the
 * build tree and a `make install` both put it in ../lib. The build sets it
 * when its libdir differs (Debian's lib/<multiarch>, say). */
#ifndef LG_LIBRARY_FROM_BINDIR
#define LG_LIBRARY_FROM_BINDIR "../lib/liblockgraph.so"
#endif

#define LG_EXIT_USAGE 2
#define LG_EXIT_NOLIB 1
#define LG_EXIT_NOEXEC 127

/*
 * The launcher is an ordinary program, so the library's allocator interface
 * is backed by calloc. Blocks are chained from a global and released at
 * exit: the parsed option copies have no other owner, and a leak checker
 * (the asan preset builds this too) must not turn "exit 2" into a leak
 * report.
 */
struct lg_block {
    struct lg_block *prev, *next;
    max_align_t align[]; /* the caller's memory */
};

static struct lg_block *lg_blocks;

static void *
lg_heap_alloc(void *ctx, size_t size)
{
    (void)ctx;
    struct lg_block *b = calloc(1, sizeof *b + size);
    if (!b)
        return NULL;
    b->next = lg_blocks;
    if (lg_blocks)
        lg_blocks->prev = b;
    lg_blocks = b;
    return b->align;
}

static void
lg_heap_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    (void)size;
    struct lg_block *b = (struct lg_block *)(void *)((char *)p - offsetof(struct lg_block, align));
    if (b->prev)
        b->prev->next = b->next;
    else
        lg_blocks = b->next;
    if (b->next)
        b->next->prev = b->prev;
    free(b);
}

static void
lg_heap_release(void)
{
    while (lg_blocks) {
        struct lg_block *b = lg_blocks;
        lg_blocks = b->next;
        free(b);
    }
}

static const struct lg_alloc lg_heap = { lg_heap_alloc, lg_heap_free, NULL };

enum lg_flag_type { LG_FLAG_BOOL, LG_FLAG_INT, LG_FLAG_STR };

static const struct {
    const char *name;
    enum lg_flag_type type;
} lg_flags[] = {
#define LG_FLAG(type, name, def, min, max, help) { #name, LG_FLAG_##type },
    LG_OPTION_TABLE(LG_FLAG)
#undef LG_FLAG
};

#define LG_NFLAGS (sizeof lg_flags / sizeof lg_flags[0])

static void
lg_usage(FILE *f)
{
    fprintf(f, "usage: lockgraph [OPTIONS] [--] PROGRAM [ARGS...]\n"
               "Run PROGRAM with the lockgraph lock-order checker preloaded.\n"
               "Try 'lockgraph --help' for the options.\n");
}

static void
lg_help(bool markdown)
{
    struct lg_buf b;
    lg_buf_init(&b, &lg_heap);
    if (!markdown) {
        lg_buf_puts(&b,
            "usage: lockgraph [OPTIONS] [--] PROGRAM [ARGS...]\n"
            "\n"
            "Run PROGRAM with liblockgraph.so preloaded. lockgraph reports lock-order\n"
            "inversions, self-deadlocks, real deadlocks, abandoned locks, bad unlocks,\n"
            "destroyed-while-held locks, starvation, livelock and stalls, and exits with\n"
            "exitcode (66) when it reported anything.\n"
            "\n"
            "Every option below is also a flag: --name=VALUE or --name VALUE; a boolean\n"
            "alone (--halt_on_error) means 1, --no-NAME means 0; '-' may stand for '_'.\n"
            "Flags are appended to LOCKGRAPH_OPTIONS, so they win over the environment.\n"
            "\n"
            "  --help             this text (--help=markdown: the option table in Markdown)\n"
            "  --version          print the version\n"
            "  --quiet            no closing line (\"lockgraph: 0 reports; ...\"): summary=0\n");
        lg_buf_puts(&b, lg_hunt_usage);
        lg_buf_puts(&b,
            "\n"
            "The library is $LOCKGRAPH_LIBRARY, or ../lib/liblockgraph.so next to this\n"
            "program.\n"
            "\n");
    }
    lg_options_help(&b, markdown);
    if (b.failed) {
        fprintf(stderr, "lockgraph: out of memory\n");
        exit(1);
    }
    fputs(b.data ? b.data : "", stdout);
    lg_buf_free(&b);
}

/* A growable string for the assembled option list. */
struct lg_str {
    char *s;
    size_t len, cap;
};

static void
lg_str_add(struct lg_str *s, const char *t, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *p = realloc(s->s, cap);
        if (!p) {
            fprintf(stderr, "lockgraph: out of memory\n");
            exit(1);
        }
        s->s = p;
        s->cap = cap;
    }
    memcpy(s->s + s->len, t, n);
    s->len += n;
    s->s[s->len] = '\0';
}

static void
lg_str_adds(struct lg_str *s, const char *t)
{
    lg_str_add(s, t, strlen(t));
}

/* Append name=value to the option list, quoting the value when it holds a
 * separator or starts with a quote (which the parser would take as one). */
static int
lg_add_option(struct lg_str *opts, const char *name, const char *value)
{
    bool needs = value[0] == '"' || value[0] == '\'' ||
                 strpbrk(value, ": \t\n\r\v\f") != NULL;
    char q = 0;
    if (needs) {
        if (!strchr(value, '"'))
            q = '"';
        else if (!strchr(value, '\''))
            q = '\'';
        else {
            fprintf(stderr, "lockgraph: the value of --%s holds both kinds of "
                            "quote and a ':' or space, which LOCKGRAPH_OPTIONS "
                            "cannot carry\n", name);
            return -EINVAL;
        }
    }
    if (opts->len)
        lg_str_add(opts, ":", 1);
    lg_str_adds(opts, name);
    lg_str_add(opts, "=", 1);
    if (q)
        lg_str_add(opts, &q, 1);
    lg_str_adds(opts, value);
    if (q)
        lg_str_add(opts, &q, 1);
    return 0;
}

static int
lg_flag_find(const char *name)
{
    for (size_t i = 0; i < LG_NFLAGS; i++)
        if (strcmp(lg_flags[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The absolute path of liblockgraph.so (free it), or NULL after saying on
 * stderr why there is none. */
static char *
lg_find_library(void)
{
    const char *env = getenv("LOCKGRAPH_LIBRARY");
    char exe[PATH_MAX], guess[PATH_MAX + sizeof LG_LIBRARY_FROM_BINDIR + 32];
    const char *path;

    if (env && env[0]) {
        path = env;
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n < 0) {
            fprintf(stderr, "lockgraph: cannot find my own location "
                            "(/proc/self/exe: %s); set LOCKGRAPH_LIBRARY to "
                            "the path of liblockgraph.so\n", strerror(errno));
            return NULL;
        }
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        /* The installed layout first, then the build tree's bin/ and lib/. */
        snprintf(guess, sizeof guess, "%s/%s", exe, LG_LIBRARY_FROM_BINDIR);
        if (access(guess, R_OK) != 0)
            snprintf(guess, sizeof guess, "%s/../lib/liblockgraph.so", exe);
        path = guess;
    }
    /* The dynamic loader resolves LD_PRELOAD in the program's own working
     * directory, so hand it an absolute path. */
    char *abs = realpath(path, NULL);
    if (!abs || access(abs, R_OK) != 0) {
        fprintf(stderr, "lockgraph: cannot find liblockgraph.so at '%s' (%s); "
                        "%s\n", path, strerror(errno),
                env && env[0] ? "LOCKGRAPH_LIBRARY names it"
                              : "set LOCKGRAPH_LIBRARY to its path");
        free(abs);
        return NULL;
    }
    /* LD_PRELOAD splits its list at spaces and colons. */
    if (strpbrk(abs, ": \t")) {
        fprintf(stderr, "lockgraph: the library path '%s' holds a ':' or a "
                        "space, which LD_PRELOAD cannot carry; move or link it "
                        "elsewhere\n", abs);
        free(abs);
        return NULL;
    }
    return abs;
}

/* Put lib first in LD_PRELOAD, once. */
static void
lg_preload(const char *lib)
{
    const char *old = getenv("LD_PRELOAD");
    struct lg_str v = { 0 };

    lg_str_adds(&v, lib);
    if (old) {
        const char *p = old;
        while (*p) {
            size_t n = strcspn(p, ": \t");
            if (n && !(n == strlen(lib) && memcmp(p, lib, n) == 0)) {
                lg_str_add(&v, ":", 1);
                lg_str_add(&v, p, n);
            }
            p += n;
            while (*p == ':' || *p == ' ' || *p == '\t')
                p++;
        }
    }
    setenv("LD_PRELOAD", v.s, 1);
    free(v.s);
}

/* ---- targets lockgraph cannot check ----------------------------------- */

/* The file execvp() would run for prog, or NULL (execvp will say why). */
static const char *
lg_which(const char *prog, char *buf, size_t len)
{
    if (strchr(prog, '/'))
        return prog;
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin"; /* execvp's default */
    for (const char *p = path;;) {
        size_t n = strcspn(p, ":");
        struct stat st;
        /* An empty entry is the working directory. */
        snprintf(buf, len, "%.*s%s%s", (int)n, n ? p : ".", "/", prog);
        if (access(buf, X_OK) == 0 && stat(buf, &st) == 0 && S_ISREG(st.st_mode))
            return buf;
        if (!p[n])
            return NULL;
        p += n + 1;
    }
}

struct lg_elf {
    bool elf, not64, dynamic;
    const char *sanitizer; /* the runtime it carries, or NULL */
};

static bool
lg_read_at(int fd, void *buf, size_t n, off_t off)
{
    return pread(fd, buf, n, off) == (ssize_t)n;
}

/* The sanitizer a DT_NEEDED name or a .dynsym name says is in the program:
 * gcc links libtsan.so/libasan.so, clang links its runtime in and exports
 * its init function. */
static const char *
lg_sanitizer_named(const char *name, bool needed)
{
    static const struct {
        const char *lib, *clang_lib, *init, *what;
    } san[] = {
        { "libtsan.so", "clang_rt.tsan", "__tsan_init", "ThreadSanitizer (-fsanitize=thread)" },
        { "libasan.so", "clang_rt.asan", "__asan_init", "AddressSanitizer (-fsanitize=address)" },
        { "libmsan.so", "clang_rt.msan", "__msan_init", "MemorySanitizer (-fsanitize=memory)" },
        { "libhwasan.so", "clang_rt.hwasan", "__hwasan_init",
          "HWAddressSanitizer (-fsanitize=hwaddress)" },
    };
    for (size_t i = 0; i < sizeof san / sizeof san[0]; i++)
        if (needed ? strstr(name, san[i].lib) || strstr(name, san[i].clang_lib)
                   : strcmp(name, san[i].init) == 0)
            return san[i].what;
    return NULL;
}

/* The strings of section `link` (a string table), NUL-terminated; free it. */
static char *
lg_elf_strings(int fd, const Elf64_Shdr *sh, size_t nsh, Elf64_Word link, size_t *size)
{
    if (link >= nsh || sh[link].sh_type != SHT_STRTAB || sh[link].sh_size > (64u << 20))
        return NULL;
    char *str = malloc(sh[link].sh_size + 1);
    if (str && !lg_read_at(fd, str, sh[link].sh_size, (off_t)sh[link].sh_offset)) {
        free(str);
        return NULL;
    }
    if (str) {
        str[sh[link].sh_size] = '\0';
        *size = sh[link].sh_size;
    }
    return str;
}

/* What the ELF file fd says of itself: its class, whether it has an
 * interpreter (PT_INTERP: the dynamic loader runs and preloads), and the
 * sanitizer runtime it needs (.dynamic) or carries (.dynsym). */
static void
lg_elf_inspect(int fd, struct lg_elf *e)
{
    Elf64_Ehdr eh;
    if (!lg_read_at(fd, &eh, sizeof eh, 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return;
    e->elf = true;
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
        e->not64 = true;
        return;
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (lg_read_at(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * eh.e_phentsize))
            && ph.p_type == PT_INTERP)
            e->dynamic = true;
    }
    if (!e->dynamic || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0)
        return;
    size_t nsh = eh.e_shnum;
    Elf64_Shdr *sh = calloc(nsh, sizeof *sh);
    if (!sh || !lg_read_at(fd, sh, nsh * sizeof *sh, (off_t)eh.e_shoff)) {
        free(sh);
        return;
    }
    for (size_t i = 0; i < nsh && !e->sanitizer; i++) {
        if (sh[i].sh_type != SHT_DYNAMIC && sh[i].sh_type != SHT_DYNSYM)
            continue;
        size_t strsize = 0;
        char *str = lg_elf_strings(fd, sh, nsh, sh[i].sh_link, &strsize);
        size_t entsize = sh[i].sh_type == SHT_DYNAMIC ? sizeof(Elf64_Dyn) : sizeof(Elf64_Sym);
        size_t n = sh[i].sh_size / entsize;
        char *tab = str && sh[i].sh_size <= (64u << 20) ? malloc(sh[i].sh_size) : NULL;
        if (tab && lg_read_at(fd, tab, sh[i].sh_size, (off_t)sh[i].sh_offset)) {
            for (size_t j = 0; j < n && !e->sanitizer; j++) {
                size_t name;
                if (sh[i].sh_type == SHT_DYNAMIC) {
                    const Elf64_Dyn *d = (const Elf64_Dyn *)(void *)(tab + j * entsize);
                    if (d->d_tag != DT_NEEDED)
                        continue;
                    name = d->d_un.d_val;
                } else {
                    const Elf64_Sym *sym = (const Elf64_Sym *)(void *)(tab + j * entsize);
                    if (sym->st_shndx == SHN_UNDEF)
                        continue;
                    name = sym->st_name;
                }
                if (name < strsize)
                    e->sanitizer = lg_sanitizer_named(str + name, sh[i].sh_type == SHT_DYNAMIC);
            }
        }
        free(tab);
        free(str);
    }
    free(sh);
}

/* Why the loader will run `path` in secure mode (AT_SECURE), ignoring
 * LD_PRELOAD, for this user: NULL if it will not. */
static const char *
lg_secure_exec(const char *path, const struct stat *st, char *why, size_t len)
{
    struct statvfs vfs;
    if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
        return NULL; /* the bits mean nothing on this file system */
    if ((st->st_mode & S_ISUID) && st->st_uid != getuid()) {
        snprintf(why, len, "is set-user-ID (it runs as uid %u, you are uid %u)",
                 (unsigned)st->st_uid, (unsigned)getuid());
        return why;
    }
    if ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP) && st->st_gid != getgid()) {
        snprintf(why, len, "is set-group-ID (it runs as gid %u, you are gid %u)",
                 (unsigned)st->st_gid, (unsigned)getgid());
        return why;
    }
    if (getxattr(path, "security.capability", NULL, 0) > 0) {
        snprintf(why, len, "has file capabilities");
        return why;
    }
    return NULL;
}

/* Warn, before running prog, about what will keep lockgraph from checking
 * it. Scripts are followed to their interpreter (#!), as the kernel does. */
static void
lg_warn_target(const char *prog)
{
    char found[PATH_MAX], interp[PATH_MAX], why[128];
    const char *path = lg_which(prog, found, sizeof found);
    const char *via = NULL; /* the script, when path is its interpreter */
    for (int depth = 0; path && depth < 5; depth++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return;
        char head[PATH_MAX + 3];
        ssize_t n = pread(fd, head, sizeof head - 1, 0);
        if (n >= 2 && head[0] == '#' && head[1] == '!') {
            close(fd);
            head[n] = '\0';
            char *p = head + 2 + strspn(head + 2, " \t");
            size_t len = strcspn(p, " \t\n");
            if (len == 0 || len >= sizeof interp)
                return;
            memcpy(interp, p, len);
            interp[len] = '\0';
            via = prog;
            path = interp;
            continue;
        }
        struct lg_elf e = { 0 };
        struct stat st;
        lg_elf_inspect(fd, &e);
        bool have_st = fstat(fd, &st) == 0;
        close(fd);
        char what[PATH_MAX + 64];
        if (via)
            snprintf(what, sizeof what, "'%s' (the interpreter of '%s')", path, via);
        else
            snprintf(what, sizeof what, "'%s'", prog);
        if (e.elf && e.not64)
            fprintf(stderr, "lockgraph: warning: %s is not an x86-64 program: the loader "
                            "cannot preload liblockgraph.so into it, so lockgraph will not "
                            "check it\n", what);
        else if (e.elf && !e.dynamic)
            fprintf(stderr, "lockgraph: warning: %s is statically linked: no dynamic loader "
                            "runs to preload liblockgraph.so, so lockgraph will not check "
                            "it\n", what);
        if (!via && have_st && lg_secure_exec(path, &st, why, sizeof why))
            fprintf(stderr, "lockgraph: warning: %s %s: the dynamic loader ignores "
                            "LD_PRELOAD for it, so lockgraph will not check it\n", what, why);
        if (e.sanitizer)
            fprintf(stderr, "lockgraph: warning: %s is built with %s: a sanitizer and "
                            "lockgraph cannot share a process, so lockgraph turns itself off "
                            "in it; run it without lockgraph, or build it without the "
                            "sanitizer\n", what, e.sanitizer);
        return;
    }
}

/* Global so that it stays reachable (not a leak) on every exit path. */
static struct lg_str flags;
static struct lg_hunt hunt;

int
main(int argc, char **argv)
{
    char err[256];
    int i;
    bool quiet = false;

    atexit(lg_heap_release);

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0')
            break; /* the program */
        if (strcmp(arg, "-h") == 0) {
            lg_help(false);
            return 0;
        }
        if (arg[1] != '-') {
            fprintf(stderr, "lockgraph: unknown flag '%s' (options are "
                            "--name=value)\n", arg);
            lg_usage(stderr);
            return LG_EXIT_USAGE;
        }

        /* --name[=value], '-' standing for '_' in the name */
        const char *eq = strchr(arg + 2, '=');
        size_t nlen = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
        char *name = lg_heap_alloc(NULL, nlen + 1);
        const char *value = eq ? eq + 1 : NULL;
        if (!name) {
            fprintf(stderr, "lockgraph: out of memory\n");
            return 1;
        }
        memcpy(name, arg + 2, nlen);
        for (char *c = name; *c; c++)
            if (*c == '-')
                *c = '_';

        if (strcmp(name, "quiet") == 0 && !value) {
            quiet = true;
            continue;
        }
        if (strcmp(name, "version") == 0 && !value) {
            printf("lockgraph %s\n", LG_VERSION);
            return 0;
        }
        if (strcmp(name, "help") == 0) {
            bool on = true;
            if (value && strcmp(value, "markdown") == 0) {
                lg_help(true);
                return 0;
            }
            if (value && strcmp(value, "text") != 0) {
                struct lg_options o;
                char one[64];
                lg_options_defaults(&o);
                snprintf(one, sizeof one, "help=%.40s", value);
                if (lg_options_parse(&o, one, &lg_heap, err, sizeof err) < 0) {
                    fprintf(stderr, "lockgraph: %s (or 'markdown')\n", err);
                    return LG_EXIT_USAGE;
                }
                on = o.help;
            }
            if (on) {
                lg_help(false);
                return 0;
            }
            continue;
        }

        int h = lg_hunt_flag(&hunt, name, value, argc, argv, &i);
        if (h < 0)
            return LG_EXIT_USAGE;
        if (h > 0)
            continue;
        int f = lg_flag_find(name);
        if (f < 0 && strncmp(name, "no_", 3) == 0 && !value) {
            int g = lg_flag_find(name + 3);
            if (g >= 0 && lg_flags[g].type == LG_FLAG_BOOL) {
                memmove(name, name + 3, strlen(name + 3) + 1);
                f = g;
                value = "0";
            }
        }
        if (f < 0 && strpbrk(name, ": \t\n\r\v\f\"'")) {
            /* Not even a word: the parser would split it and talk about
             * the pieces. */
            fprintf(stderr, "lockgraph: unknown option '--%s'\n", name);
            return LG_EXIT_USAGE;
        }
        if (f < 0) {
            /* Let the library's parser word it, suggestion included. */
            char one[128];
            struct lg_options o;
            lg_options_defaults(&o);
            snprintf(one, sizeof one, "%.100s=", name);
            if (lg_options_parse(&o, one, &lg_heap, err, sizeof err) >= 0)
                snprintf(err, sizeof err, "unknown option '%s'", name);
            fprintf(stderr, "lockgraph: %s\n", err);
            return LG_EXIT_USAGE;
        }
        if (!value) {
            if (lg_flags[f].type == LG_FLAG_BOOL) {
                value = "1";
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                fprintf(stderr, "lockgraph: option '%s' needs a value\n", arg);
                return LG_EXIT_USAGE;
            }
        }
        if (lg_add_option(&flags, name, value) < 0)
            return LG_EXIT_USAGE;
    }

    /* Check both halves with the library's parser: a bad option is
     * reported now, before the program runs, in the library's words. */
    struct lg_options o;
    const char *env = getenv("LOCKGRAPH_OPTIONS");
    lg_options_defaults(&o);
    if (env && lg_options_parse(&o, env, &lg_heap, err, sizeof err) < 0) {
        fprintf(stderr, "lockgraph: LOCKGRAPH_OPTIONS: %s\n", err);
        return LG_EXIT_USAGE;
    }
    if (flags.s && lg_options_parse(&o, flags.s, &lg_heap, err, sizeof err) < 0) {
        fprintf(stderr, "lockgraph: %s\n", err);
        return LG_EXIT_USAGE;
    }
    /* The parsed copies are not needed: the library parses again. */

    if (i >= argc) {
        fprintf(stderr, "lockgraph: no program to run\n");
        lg_usage(stderr);
        return LG_EXIT_USAGE;
    }

    char *lib = lg_find_library();
    if (!lib)
        return LG_EXIT_NOLIB;

    /* The closing line first, so that LOCKGRAPH_OPTIONS and the flags can
     * still turn it off (summary=0). */
    struct lg_str all = { 0 };
    if (!quiet)
        lg_str_adds(&all, "summary=1");
    if (env && env[0]) {
        if (all.len)
            lg_str_add(&all, ":", 1);
        lg_str_adds(&all, env);
    }
    if (flags.len) {
        if (all.len)
            lg_str_add(&all, ":", 1);
        lg_str_add(&all, flags.s, flags.len);
    }
    if (all.len)
        setenv("LOCKGRAPH_OPTIONS", all.s, 1);
    free(all.s);
    lg_preload(lib);
    free(lib);
    lg_heap_release();
    lg_warn_target(argv[i]);

    if (hunt.runs)
        return lg_hunt_run(&hunt, argc, argv, i);
    /* The program will have this pid: its closing line is the run's (the
     * processes it starts say theirs only when they had reports or more
     * than one thread, init.c). */
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("LOCKGRAPH_TOP_PID", pid, 1);
    execvp(argv[i], argv + i);
    fprintf(stderr, "lockgraph: cannot run '%s': %s\n", argv[i], strerror(errno));
    return LG_EXIT_NOEXEC;
}
