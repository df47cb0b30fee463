/*
 * stack.c - stacks: capture, a depot that stores each distinct stack once,
 * and symbolisation to function and file:line.
 *
 * Capture is glibc's backtrace() (the first call loads the unwinder, so
 * init does it once under the recursion guard). Symbolisation happens only
 * when a report is written: dladdr() finds the module, the module's ELF
 * symbol table gives function and variable names (static ones too), and one
 * addr2line process per report gives file:line. Everything is cached, and
 * nothing here calls malloc.
 */
#include "rt.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_DEPTH 64
#define DEPOT_MAX (1u << 20)

struct depot_entry {
    uint64_t hash;
    uint32_t n;
    uintptr_t *pcs;
    struct lg_frame *frames; /* symbolised on first use */
    uint32_t nframes;        /* more than n when calls were inlined */
};

static lg_mutex depot_lock = LG_MUTEX_INIT;
static struct depot_entry *depot;   /* index = id - 1 */
static uint32_t depot_n, depot_cap;
static uint32_t *depot_index;       /* open addressing: hash -> id */
static uint32_t index_cap;
static atomic_bool said_depot_full;

static uint64_t
hash_pcs(const uintptr_t *pcs, int n)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (int i = 0; i < n; i++) {
        h ^= (uint64_t)pcs[i];
        h *= 0x100000001B3ull;
    }
    return h | 1;
}

static bool
index_insert(uint32_t id)
{
    uint64_t h = depot[id - 1].hash;
    for (uint32_t j = (uint32_t)h & (index_cap - 1);; j = (j + 1) & (index_cap - 1)) {
        if (!depot_index[j]) {
            depot_index[j] = id;
            return true;
        }
    }
}

static bool
depot_reserve(void)
{
    if (depot_n + 1 > depot_cap) {
        uint32_t cap = depot_cap ? depot_cap * 2 : 1024;
        struct depot_entry *d = lg_grow(&lg_mem, depot, depot_cap * sizeof *d, cap * sizeof *d);
        if (!d)
            return false;
        depot = d;
        depot_cap = cap;
    }
    if ((depot_n + 1) * 2 > index_cap) {
        uint32_t cap = index_cap ? index_cap * 2 : 2048;
        uint32_t *idx = lg_mem_alloc(cap * sizeof *idx);
        if (!idx)
            return false;
        lg_mem_free(depot_index, index_cap * sizeof *depot_index);
        depot_index = idx;
        index_cap = cap;
        for (uint32_t id = 1; id <= depot_n; id++)
            index_insert(id);
    }
    return true;
}

static lg_stack_id
depot_put_hashed(const uintptr_t *pcs, int n, uint64_t h)
{
    lg_stack_id id = 0;
    lg_mutex_lock(&depot_lock);
    if (index_cap) {
        for (uint32_t j = (uint32_t)h & (index_cap - 1); depot_index[j];
             j = (j + 1) & (index_cap - 1)) {
            struct depot_entry *e = &depot[depot_index[j] - 1];
            if (e->hash == h && e->n == (uint32_t)n
                && memcmp(e->pcs, pcs, (size_t)n * sizeof *pcs) == 0) {
                id = depot_index[j];
                break;
            }
        }
    }
    if (!id && depot_n < DEPOT_MAX && depot_reserve()) {
        uintptr_t *copy = lg_mem_alloc((size_t)n * sizeof *copy);
        if (copy) {
            memcpy(copy, pcs, (size_t)n * sizeof *copy);
            depot[depot_n] = (struct depot_entry){ h, (uint32_t)n, copy, NULL, 0 };
            id = ++depot_n;
            index_insert(id);
        }
    }
    lg_mutex_unlock(&depot_lock);
    if (!id)
        lg_warn_once(&said_depot_full, "the stack depot is full: further stacks are "
                     "not recorded");
    return id;
}

static lg_stack_id
depot_put(const uintptr_t *pcs, int n)
{
    return n > 0 ? depot_put_hashed(pcs, n, hash_pcs(pcs, n)) : 0;
}

/*
 * The stacks this thread captured last, by hash: a stack taken again (a
 * loop's lock, with held_stacks=1 every acquisition) finds its id here
 * without the depot's lock. A 64-bit hash stands for the addresses: two
 * different stacks of one thread sharing a slot and a hash would show the
 * wrong stack, a chance of about n / 2^64 for n distinct stacks.
 */
#define RECENT 16
static LG_TLS struct {
    uint64_t hash;
    lg_stack_id id;
} recent[RECENT];

/* Where lockgraph's own code is mapped: its frames are cut from the top of
 * every stack, so a report starts at the program's call. */
static uintptr_t self_lo, self_hi;

static int
find_self(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    uintptr_t me = (uintptr_t)ctx;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (me >= lo && me < hi) {
            self_lo = lo;
            self_hi = hi;
            return 1;
        }
    }
    return 0;
}

lg_stack_id
lg_stack_capture(int skip)
{
    (void)skip; /* our own frames are recognised by address instead */
    void *raw[MAX_DEPTH + 24];
    int depth = (int)lg_opt.stack_depth;
    /* No deeper than needed: lockgraph's own frames (a handful) on top of
     * the depth kept. Each frame costs an unwind step. */
    int want = depth + 24 < (int)(sizeof raw / sizeof raw[0]) ? depth + 24
                                                              : (int)(sizeof raw / sizeof raw[0]);
    int n = backtrace(raw, want);
    int first = 0;
    while (first < n && (uintptr_t)raw[first] >= self_lo && (uintptr_t)raw[first] < self_hi)
        first++;
    if (n <= first)
        return 0;
    if (n - first > depth)
        n = first + depth;
    uintptr_t pcs[MAX_DEPTH + 24];
    for (int i = first; i < n; i++)
        pcs[i - first] = (uintptr_t)raw[i];
    uint64_t h = hash_pcs(pcs, n - first);
    unsigned slot = (unsigned)(h ^ (h >> 29)) & (RECENT - 1);
    if (recent[slot].hash == h && recent[slot].id)
        return recent[slot].id;
    lg_stack_id id = depot_put_hashed(pcs, n - first, h);
    recent[slot].hash = h;
    recent[slot].id = id;
    return id;
}

lg_stack_id
lg_stack_from_pc(uintptr_t pc)
{
    return pc ? depot_put(&pc, 1) : 0;
}

void
lg_stack_init(void)
{
    void *warm[4];
    backtrace(warm, 4); /* loads the unwinder now, not inside a report */
    dl_iterate_phdr(find_self, (void *)(uintptr_t)lg_stack_init);
}

void
lg_stack_atfork_prepare(void)
{
    lg_mutex_lock(&depot_lock);
}

void
lg_stack_atfork_parent(void)
{
    lg_mutex_unlock(&depot_lock);
}

void
lg_stack_atfork_child(void)
{
    lg_mutex_reset(&depot_lock);
}

/* ---- symbolisation ---------------------------------------------------- */

static char *
copy_str(const char *s, size_t n)
{
    char *c = lg_mem_alloc(n + 1);
    if (c)
        memcpy(c, s, n);
    return c;
}

/* An ELF module mapped read-only, with its symbol table, for names of
 * static functions and variables that dladdr() cannot see. */
struct module {
    char *path;
    uintptr_t base;
    bool is_exec; /* ET_EXEC: addresses are absolute */
    const Elf64_Sym *syms;
    size_t nsyms;
    const char *strtab;
    struct demangled *names; /* C++ symbols already demangled */
    struct module *next;
};

struct demangled {
    const Elf64_Sym *sym;
    const char *text;
    struct demangled *next;
};
static struct module *modules; /* under depot_lock */

static void
module_load_symbols(struct module *m)
{
    int fd = open(m->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    void *map = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof(Elf64_Ehdr))
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return;
    const Elf64_Ehdr *eh = map;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64
        || eh->e_shoff == 0 || eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr)
                                   > (size_t)st.st_size)
        return;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(const void *)((const char *)map + eh->e_shoff);
    /* Prefer the full .symtab; fall back to .dynsym. */
    for (int pass = 0; pass < 2 && !m->syms; pass++) {
        uint32_t want = pass == 0 ? SHT_SYMTAB : SHT_DYNSYM;
        for (unsigned i = 0; i < eh->e_shnum; i++) {
            if (sh[i].sh_type != want || sh[i].sh_link >= eh->e_shnum)
                continue;
            const Elf64_Shdr *str = &sh[sh[i].sh_link];
            if (sh[i].sh_offset + sh[i].sh_size > (size_t)st.st_size
                || str->sh_offset + str->sh_size > (size_t)st.st_size)
                continue;
            m->syms = (const Elf64_Sym *)(const void *)((const char *)map + sh[i].sh_offset);
            m->nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
            m->strtab = (const char *)map + str->sh_offset;
            break;
        }
    }
}

static struct module *
module_of(uintptr_t addr)
{
    Dl_info info;
    if (!dladdr((void *)addr, &info) || !info.dli_fname)
        return NULL;
    uintptr_t base = (uintptr_t)info.dli_fbase;
    for (struct module *m = modules; m; m = m->next)
        if (m->base == base)
            return m;
    struct module *m = lg_mem_alloc(sizeof *m);
    if (!m)
        return NULL;
    const char *path = info.dli_fname;
    char exe[4096];
    if (!path[0]) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        path = exe;
    }
    m->path = copy_str(path, strlen(path));
    m->base = base;
    m->is_exec = ((const Elf64_Ehdr *)base)->e_type == ET_EXEC;
    if (m->path)
        module_load_symbols(m);
    m->next = modules;
    modules = m;
    return m;
}

/* Environment for addr2line: the program's, without lockgraph in it. */
static char **
clean_environ(void)
{
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = lg_mem_alloc((n + 1) * sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0
            && strncmp(environ[i], "LOCKGRAPH_OPTIONS=", 18) != 0)
            env[k++] = environ[i];
    return env;
}

/* What addr2line said about one address: its inline chain, innermost
 * first (a function and file:line per level). */
#define MAX_INLINE 8
struct a2l_result {
    unsigned n;
    struct {
        const char *function, *file;
        unsigned line;
    } level[MAX_INLINE];
};

static bool
unknown(const char *s)
{
    return s[0] == '?' && s[1] == '?';
}

/*
 * Run a binutils filter (addr2line, c++filt): `input` on its standard
 * input, its standard output into *out (NUL-terminated, from lg_mem,
 * *out_cap bytes; NULL when it could not run). The input is small (a
 * stack's addresses, a few names): far below a pipe's capacity, so writing
 * all of it before reading cannot wait for the filter.
 */
static char *
run_filter(char *const argv[], const char *input, size_t in_len, size_t out_cap,
           size_t *out_len)
{
    int to_child[2], from_child[2];
    *out_len = 0;
    if (pipe2(to_child, O_CLOEXEC) != 0)
        return NULL;
    if (pipe2(from_child, O_CLOEXEC) != 0) {
        close(to_child[0]);
        close(to_child[1]);
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    /* No signal blocked in the helper, whatever the reporting thread (the
     * liveness monitor blocks them all) had blocked. */
    posix_spawnattr_t sa;
    posix_spawnattr_init(&sa);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&sa, &none);
    posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK);
    char **env = clean_environ();
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], &fa, &sa, argv, env ? env : environ);
    posix_spawnattr_destroy(&sa);
    posix_spawn_file_actions_destroy(&fa);
    close(to_child[0]);
    close(from_child[1]);
    if (env) {
        size_t k = 0;
        while (env[k])
            k++;
        lg_mem_free(env, (k + 1) * sizeof *env);
    }
    if (err == 0) {
        for (size_t done = 0; done < in_len;) {
            ssize_t w = write(to_child[1], input + done, in_len - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            done += (size_t)w;
        }
    }
    close(to_child[1]);
    if (err != 0) {
        close(from_child[0]);
        return NULL;
    }
    char *text = lg_mem_alloc(out_cap);
    ssize_t got;
    while (text && *out_len + 1 < out_cap
           && ((got = read(from_child[0], text + *out_len, out_cap - 1 - *out_len)) > 0
               || (got < 0 && errno == EINTR)))
        if (got > 0)
            *out_len += (size_t)got;
    close(from_child[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return text;
}

/*
 * Run `addr2line -f -i -C -e module` on the addresses (-C: C++ names come
 * out demangled). With -i one address can print several function/location
 * pairs, so every address is followed by the address 0, whose single "??"
 * pair marks where the next answer starts.
 */
static void
addr2line(struct module *m, struct a2l_result **res, const uintptr_t *query, size_t n)
{
    char *argv[] = { "addr2line", "-f", "-i", "-C", "-e", m->path, NULL };
    size_t in_cap = n * 32 + 1, in_len = 0;
    char *input = lg_mem_alloc(in_cap);
    if (!input)
        return;
    for (size_t i = 0; i < n; i++)
        in_len += (size_t)snprintf(input + in_len, in_cap - in_len, "0x%lx\n0\n",
                                   (unsigned long)query[i]);
    size_t cap = 4096 + n * 512, len = 0;
    char *text = run_filter(argv, input, in_len, cap, &len);
    lg_mem_free(input, in_cap);
    /* Split into lines in place, then walk them in pairs. */
    char *p = text, *end = text ? text + len : NULL;
    size_t i = 0;
    bool first_of_address = true;
    while (text && i < n && p < end) {
        char *fn = p, *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        *nl = 0;
        char *loc = nl + 1;
        nl = memchr(loc, '\n', (size_t)(end - loc));
        if (!nl)
            break;
        *nl = 0;
        p = nl + 1;
        if (!first_of_address && unknown(fn) && unknown(loc)) {
            i++; /* the sentinel: the next pair is the next address */
            first_of_address = true;
            continue;
        }
        first_of_address = false;
        struct a2l_result *r = res[i];
        if (r->n == MAX_INLINE)
            continue;
        char *disc = strstr(loc, " (discriminator");
        if (disc)
            *disc = 0;
        char *colon = strrchr(loc, ':');
        unsigned line_no = colon ? (unsigned)strtoul(colon + 1, NULL, 10) : 0;
        r->level[r->n].function = unknown(fn) ? NULL : copy_str(fn, strlen(fn));
        if (colon && line_no && !unknown(loc)) {
            r->level[r->n].file = copy_str(loc, (size_t)(colon - loc));
            r->level[r->n].line = line_no;
        }
        r->n++;
    }
    lg_mem_free(text, cap);
}

/*
 * The name of an ELF symbol as the program's source spells it: a C++
 * symbol (_Z...) demangled by c++filt, run outside the process: the
 * program's own __cxa_demangle would allocate with the program's malloc,
 * from wherever lockgraph is reporting. Once per symbol (cached); with
 * symbolize=0 (no helper processes) names stay as the symbol table has
 * them.
 */
static const char *
symbol_name(struct module *m, const Elf64_Sym *sym)
{
    const char *raw = m->strtab + sym->st_name;
    if (raw[0] != '_' || raw[1] != 'Z' || !lg_opt.symbolize)
        return raw;
    for (struct demangled *d = m->names; d; d = d->next)
        if (d->sym == sym)
            return d->text;
    struct demangled *d = lg_mem_alloc(sizeof *d);
    if (!d)
        return raw;
    d->sym = sym;
    d->text = raw;
    size_t in_len = strnlen(raw, 4096), out_cap = 2 * in_len + 4096, len = 0;
    char *input = copy_str(raw, in_len + 1);
    if (input) {
        input[in_len] = '\n';
        char *argv[] = { "c++filt", NULL };
        char *out = run_filter(argv, input, in_len + 1, out_cap, &len);
        char *nl = out ? memchr(out, '\n', len) : NULL;
        if (nl && nl > out)
            d->text = copy_str(out, (size_t)(nl - out));
        if (!d->text)
            d->text = raw;
        lg_mem_free(out, out_cap);
        lg_mem_free(input, in_len + 2);
    }
    d->next = m->names;
    m->names = d;
    return d->text;
}

/* The symbol of the given type containing addr, as "name", "name+off",
 * or "name[i]" when it is an array of objects of elem_size bytes. */
static const char *
module_symbol(struct module *m, uintptr_t addr, unsigned type, bool with_offset,
              size_t elem_size)
{
    if (!m->syms)
        return NULL;
    uintptr_t rel = m->is_exec ? addr : addr - m->base;
    const Elf64_Sym *best = NULL;
    for (size_t i = 0; i < m->nsyms; i++) {
        const Elf64_Sym *s = &m->syms[i];
        if (ELF64_ST_TYPE(s->st_info) != type || s->st_shndx == SHN_UNDEF)
            continue;
        uintptr_t lo = s->st_value, hi = s->st_value + (s->st_size ? s->st_size : 1);
        if (rel >= lo && rel < hi && (!best || s->st_size < best->st_size))
            best = s;
    }
    if (!best)
        return NULL;
    const char *name = symbol_name(m, best);
    char buf[256];
    uintptr_t off = rel - best->st_value;
    if (with_offset && elem_size && best->st_size > elem_size && best->st_size % elem_size == 0
        && off % elem_size == 0)
        snprintf(buf, sizeof buf, "%s[%lu]", name, (unsigned long)(off / elem_size));
    else if (with_offset && off)
        snprintf(buf, sizeof buf, "%s+%lu", name, (unsigned long)off);
    else
        snprintf(buf, sizeof buf, "%s", name);
    return copy_str(buf, strlen(buf));
}

/*
 * Whether the name addr2line gave an address without DWARF can be right.
 * With only a symbol table it names the nearest function symbol below the
 * address, even one whose size ends before it: in a stripped library, the
 * static function there is hidden, and the nearest exported one is
 * unrelated. False only when the module's table shows that: no function
 * symbol contains addr, and the nearest one below has a size (one without,
 * hand-written assembly, may well run on).
 */
static bool
name_may_cover(const struct module *m, uintptr_t addr)
{
    if (!m->syms)
        return true;
    uintptr_t rel = m->is_exec ? addr : addr - m->base;
    const Elf64_Sym *below = NULL;
    for (size_t i = 0; i < m->nsyms; i++) {
        const Elf64_Sym *s = &m->syms[i];
        if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF
            || s->st_value > rel)
            continue;
        if (rel < s->st_value + s->st_size)
            return true;
        if (!below || s->st_value > below->st_value
            || (s->st_value == below->st_value && s->st_size == 0))
            below = s;
    }
    return below && below->st_size == 0;
}

const char *
lg_symbolize_data(uintptr_t addr, size_t elem_size)
{
    lg_mutex_lock(&depot_lock);
    struct module *m = module_of(addr);
    const char *name = m ? module_symbol(m, addr, STT_OBJECT, true, elem_size) : NULL;
    lg_mutex_unlock(&depot_lock);
    return name;
}

static void
symbolize(struct depot_entry *e)
{
    struct a2l_result *res = lg_mem_alloc(e->n * sizeof *res);
    struct module **mods = lg_mem_alloc(e->n * sizeof *mods);
    if (!res || !mods)
        goto out;
    for (uint32_t i = 0; i < e->n; i++)
        mods[i] = module_of(e->pcs[i] - 1); /* a return address: look up the call */
    if (lg_opt.symbolize) {
        /* One addr2line per module that has frames here. */
        struct a2l_result *todo[MAX_DEPTH + 24];
        uintptr_t query[MAX_DEPTH + 24];
        bool *done = lg_mem_alloc(e->n * sizeof *done);
        for (uint32_t i = 0; done && i < e->n; i++) {
            struct module *m = mods[i];
            if (!m || !m->path || done[i])
                continue;
            size_t k = 0;
            for (uint32_t j = i; j < e->n; j++) {
                if (mods[j] != m || done[j])
                    continue;
                done[j] = true;
                todo[k] = &res[j];
                query[k++] = (m->is_exec ? e->pcs[j] : e->pcs[j] - m->base) - 1;
            }
            addr2line(m, todo, query, k);
        }
        lg_mem_free(done, e->n * sizeof *done);
    }
    /* Frames: every inline level of every address, innermost first. */
    uint32_t nframes = 0;
    for (uint32_t i = 0; i < e->n; i++)
        nframes += res[i].n ? res[i].n : 1;
    struct lg_frame *frames = lg_mem_alloc(nframes * sizeof *frames);
    if (!frames)
        goto out;
    uint32_t k = 0;
    for (uint32_t i = 0; i < e->n; i++) {
        struct module *m = mods[i];
        unsigned levels = res[i].n ? res[i].n : 1;
        for (unsigned lv = 0; lv < levels; lv++) {
            struct lg_frame *f = &frames[k++];
            f->pc = e->pcs[i];
            if (m) {
                f->module = m->path;
                f->offset = m->is_exec ? f->pc : f->pc - m->base;
            }
            if (res[i].n) {
                f->function = res[i].level[lv].function;
                f->file = res[i].level[lv].file;
                f->line = res[i].level[lv].line;
                if (f->function && !f->file && m && !name_may_cover(m, e->pcs[i] - 1)) {
                    f->function = NULL; /* module+offset says more than a wrong name */
                    continue;           /* and no symbol there has one */
                }
            }
            /* The ELF symbol names the outermost level when DWARF did not. */
            if (!f->function && m && lv + 1 == levels)
                f->function = module_symbol(m, e->pcs[i] - 1, STT_FUNC, false, 0);
        }
    }
    e->frames = frames;
    e->nframes = nframes;
out:
    lg_mem_free(res, e->n * sizeof *res);
    lg_mem_free(mods, e->n * sizeof *mods);
}

struct lg_stack
lg_stack_get(lg_stack_id id)
{
    struct lg_stack s = { 0, NULL };
    lg_mutex_lock(&depot_lock);
    if (id >= 1 && id <= depot_n) {
        struct depot_entry *e = &depot[id - 1];
        if (!e->frames)
            symbolize(e);
        if (e->frames) {
            s.n = e->nframes;
            s.frames = e->frames;
        }
    }
    lg_mutex_unlock(&depot_lock);
    return s;
}
