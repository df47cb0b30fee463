/*
 * resolve.c - the real pthread functions behind lockgraph's interposers.
 *
 * They are found lazily: a preloaded allocator (jemalloc, tcmalloc) calls
 * pthread_mutex_trylock from inside malloc, before lockgraph's constructor
 * has run, and another library's constructor may lock a mutex just as
 * early. So the lookup must work from inside malloc: it must never
 * allocate and never re-enter itself. dlsym/dlvsym do not qualify (a failed
 * lookup allocates its error message, and that malloc calls back into the
 * interposer that was resolving), so the lookup reads the loaded objects'
 * dynamic symbol tables itself:
 *
 *   - dl_iterate_phdr walks the loaded objects in load order (the order
 *     RTLD_NEXT searches for a preloaded library), taking only the
 *     loader's own lock and allocating nothing;
 *   - objects up to and including lockgraph's own are skipped, as
 *     RTLD_NEXT would skip them;
 *   - in each later object the name is looked up through DT_GNU_HASH (or
 *     DT_HASH), and only a defined function in its default version (the
 *     `@@` one, not hidden in DT_VERSYM) is taken: what a program linked
 *     today binds to, e.g. pthread_cond_wait@@GLIBC_2.3.2, not the 2.2.5
 *     compatibility symbol.
 *
 * dlsym(RTLD_NEXT) remains as a fallback for a function no object defines
 * that way (an IFUNC, say). It runs with the thread marked as resolving, so
 * that an allocation it makes, calling back into an interposer, finds the
 * mark and does not resolve again: lg_resolve() never waits, for itself or
 * for another thread (two threads resolving at once store the same
 * addresses).
 */
#include "intercept.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

struct lg_real lg_real;
bool lg_real_free_sized;

static const char *const real_names[] = {
#define REAL_NAME(ret, name, args) #name,
    REAL_FUNCTIONS(REAL_NAME)
#undef REAL_NAME
};
#define NREAL (sizeof real_names / sizeof real_names[0])

/* lg_real as an array of pointers, in REAL_FUNCTIONS order. */
static void **
real_slot(size_t i)
{
    return (void **)&lg_real + i;
}
_Static_assert(sizeof(struct lg_real) == NREAL * sizeof(void *), "lg_real is a table");

/* ---- one object's dynamic symbol table ------------------------------------- */

struct dynsyms {
    uintptr_t base;
    const ElfW(Sym) *sym;
    const char *str;
    size_t strsz;
    const ElfW(Half) *versym;  /* NULL: unversioned */
    const uint32_t *gnu_hash;  /* DT_GNU_HASH, or NULL */
    const ElfW(Word) *sysv_hash; /* DT_HASH, or NULL */
};

/* The loader relocates the addresses in a writable .dynamic in place; a
 * read-only one (the vDSO's) keeps them relative to the load address. */
static uintptr_t
dyn_ptr(uintptr_t base, ElfW(Addr) p)
{
    return p < base ? base + p : p;
}

static bool
dynsyms_of(struct dynsyms *d, uintptr_t base, const ElfW(Dyn) *dyn)
{
    memset(d, 0, sizeof *d);
    d->base = base;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: d->sym = (const void *)dyn_ptr(base, dyn->d_un.d_ptr); break;
        case DT_STRTAB: d->str = (const void *)dyn_ptr(base, dyn->d_un.d_ptr); break;
        case DT_STRSZ: d->strsz = dyn->d_un.d_val; break;
        case DT_VERSYM: d->versym = (const void *)dyn_ptr(base, dyn->d_un.d_ptr); break;
        case DT_GNU_HASH: d->gnu_hash = (const void *)dyn_ptr(base, dyn->d_un.d_ptr); break;
        case DT_HASH: d->sysv_hash = (const void *)dyn_ptr(base, dyn->d_un.d_ptr); break;
        default: break;
        }
    }
    return d->sym && d->str && (d->gnu_hash || d->sysv_hash);
}

static bool
same_name(const struct dynsyms *d, const ElfW(Sym) *s, const char *name)
{
    if (s->st_name >= d->strsz)
        return false;
    return strcmp(d->str + s->st_name, name) == 0;
}

/* A definition a call may bind to: a defined function (not an IFUNC,
 * whose resolver only dlsym may run), global or weak, in its default
 * version. */
static void *
usable(const struct dynsyms *d, uint32_t i, const char *name)
{
    const ElfW(Sym) *s = &d->sym[i];
    int bind = ELF64_ST_BIND(s->st_info);
    if (s->st_shndx == SHN_UNDEF || s->st_value == 0 || ELF64_ST_TYPE(s->st_info) != STT_FUNC
        || (bind != STB_GLOBAL && bind != STB_WEAK) || !same_name(d, s, name))
        return NULL;
    if (d->versym && ((d->versym[i] & 0x8000) != 0 || d->versym[i] == 0))
        return NULL; /* a hidden (non-default) version, or a local symbol */
    return (void *)(d->base + s->st_value);
}

static uint32_t
gnu_hash(const char *s)
{
    uint32_t h = 5381;
    for (; *s; s++)
        h = h * 33 + (unsigned char)*s;
    return h;
}

static unsigned long
sysv_hash(const char *s)
{
    unsigned long h = 0;
    for (; *s; s++) {
        h = (h << 4) + (unsigned char)*s;
        unsigned long g = h & 0xf0000000ul;
        if (g)
            h ^= g >> 24;
        h &= ~g;
    }
    return h;
}

static void *
lookup_gnu(const struct dynsyms *d, const char *name)
{
    const uint32_t *ht = d->gnu_hash;
    uint32_t nbuckets = ht[0], symoffset = ht[1], bloom_size = ht[2], bloom_shift = ht[3];
    const ElfW(Addr) *bloom = (const void *)&ht[4];
    const uint32_t *gh_buckets = (const void *)&bloom[bloom_size];
    const uint32_t *chain = &gh_buckets[nbuckets];
    if (nbuckets == 0 || bloom_size == 0)
        return NULL;
    uint32_t h = gnu_hash(name);
    const unsigned bits = sizeof(ElfW(Addr)) * 8;
    ElfW(Addr) word = bloom[(h / bits) % bloom_size];
    ElfW(Addr) mask = ((ElfW(Addr))1 << (h % bits)) | ((ElfW(Addr))1 << ((h >> bloom_shift) % bits));
    if ((word & mask) != mask)
        return NULL;
    uint32_t i = gh_buckets[h % nbuckets];
    if (i < symoffset)
        return NULL;
    /* Every version of a name sits in the same chain: go on past the hidden
     * ones to the default. */
    for (;; i++) {
        uint32_t h2 = chain[i - symoffset];
        if ((h | 1) == (h2 | 1)) {
            void *p = usable(d, i, name);
            if (p)
                return p;
        }
        if (h2 & 1)
            return NULL;
    }
}

static void *
lookup_sysv(const struct dynsyms *d, const char *name)
{
    const ElfW(Word) *ht = d->sysv_hash;
    ElfW(Word) nbucket = ht[0], nchain = ht[1];
    const ElfW(Word) *sh_bucket = &ht[2], *chain = &ht[2 + nbucket];
    if (nbucket == 0)
        return NULL;
    for (ElfW(Word) i = sh_bucket[sysv_hash(name) % nbucket]; i != STN_UNDEF && i < nchain;
         i = chain[i]) {
        void *p = usable(d, i, name);
        if (p)
            return p;
    }
    return NULL;
}

/* ---- the walk ---------------------------------------------------------------- */

struct walk {
    uintptr_t self;    /* an address inside lockgraph's own object */
    bool past_self;
    bool any_but_self; /* the second walk: objects before lockgraph too */
    bool first;        /* the next object is the first (the program) */
    size_t missing;
};

/* An object before lockgraph that defines the real functions (libc.so.6
 * preloaded ahead of it, say): the program binds to that object's, and
 * lockgraph sees none of its calls. NULL when none. */
static const char *shadowed_by;

static bool
contains(const struct dl_phdr_info *info, uintptr_t addr)
{
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && addr - (info->dlpi_addr + ph->p_vaddr) < ph->p_memsz)
            return true;
    }
    return false;
}

static int
each_object(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    struct walk *w = ctx;
    bool program = w->first;
    w->first = false;
    if (w->any_but_self) {
        /* Not the program: one that defines the pthread functions itself is
         * an interposer (a sanitizer), not what they stand in for. */
        if (program || contains(info, w->self))
            return 0;
    } else if (!w->past_self) {
        w->past_self = contains(info, w->self);
        return 0;
    }
    const ElfW(Dyn) *dyn = NULL;
    for (size_t i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    struct dynsyms d;
    if (!dyn || !dynsyms_of(&d, info->dlpi_addr, dyn))
        return 0;
    for (size_t i = 0; i < NREAL; i++) {
        void **slot = real_slot(i);
        if (__atomic_load_n(slot, __ATOMIC_RELAXED))
            continue;
        void *p = d.gnu_hash ? lookup_gnu(&d, real_names[i]) : lookup_sysv(&d, real_names[i]);
        if (p) {
            __atomic_store_n(slot, p, __ATOMIC_RELAXED);
            w->missing--;
            if (w->any_but_self && !shadowed_by)
                shadowed_by = info->dlpi_name;
        }
    }
    return w->missing == 0; /* non-zero stops the walk */
}

/* ---- questions about every loaded object (init.c asks them at start) ---- */

struct ask {
    const char *name;  /* a symbol to look for, or NULL */
    bool found;
    const char *self;  /* the file lockgraph was loaded from */
};

static int
ask_object(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    struct ask *a = ctx;
    if (contains(info, (uintptr_t)&lg_resolve))
        a->self = info->dlpi_name;
    const ElfW(Dyn) *dyn = NULL;
    for (size_t i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    struct dynsyms d;
    if (a->name && !a->found && dyn && dynsyms_of(&d, info->dlpi_addr, dyn))
        a->found = (d.gnu_hash ? lookup_gnu(&d, a->name) : lookup_sysv(&d, a->name)) != NULL;
    return 0;
}

struct pair {
    uintptr_t a, b;
    int in_a, in_b; /* the object numbers they lie in, -1: none yet */
    int n;
};

static int
pair_object(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    struct pair *p = ctx;
    if (p->in_a < 0 && contains(info, p->a))
        p->in_a = p->n;
    if (p->in_b < 0 && contains(info, p->b))
        p->in_b = p->n;
    p->n++;
    return 0;
}

/* Whether two addresses lie in one loaded object. */
static bool
same_object(const void *a, const void *b)
{
    struct pair p = { (uintptr_t)a, (uintptr_t)b, -1, -1, 0 };
    dl_iterate_phdr(pair_object, &p);
    return p.in_a >= 0 && p.in_a == p.in_b;
}

const char *
lg_resolve_shadowed_by(void)
{
    return shadowed_by;
}

bool
lg_defined_anywhere(const char *name)
{
    struct ask a = { name, false, NULL };
    dl_iterate_phdr(ask_object, &a);
    return a.found;
}

const char *
lg_self_path(void)
{
    struct ask a = { NULL, false, NULL };
    dl_iterate_phdr(ask_object, &a);
    return a.self && a.self[0] ? a.self : NULL;
}

/* Non-zero while this thread is inside lg_resolve(): a call back into an
 * interposer from the dlsym fallback must not resolve again. */
static LG_TLS int resolving;

void
lg_resolve(void)
{
    static atomic_bool done;
    if (atomic_load_explicit(&done, memory_order_acquire) || resolving)
        return;
    resolving = 1;
    int was_busy = lg_busy;
    lg_busy = 1; /* dlsym may allocate, and allocators may lock */
    struct walk w = { (uintptr_t)&lg_resolve, false, false, true, 0 };
    for (size_t i = 0; i < NREAL; i++)
        if (!__atomic_load_n(real_slot(i), __ATOMIC_RELAXED))
            w.missing++;
    if (w.missing)
        dl_iterate_phdr(each_object, &w);
    /* Nothing after lockgraph defines them: the library that does was
     * loaded before it. Its functions are still the real ones. */
    w.any_but_self = w.first = true;
    if (w.missing)
        dl_iterate_phdr(each_object, &w);
    for (size_t i = 0; i < NREAL; i++)
        if (!__atomic_load_n(real_slot(i), __ATOMIC_RELAXED))
            __atomic_store_n(real_slot(i), dlsym(RTLD_NEXT, real_names[i]), __ATOMIC_RELAXED);
    lg_real_free_sized = lg_real.free && lg_real.malloc_usable_size
                    && same_object((void *)lg_real.free, (void *)lg_real.malloc_usable_size);
    lg_busy = was_busy;
    resolving = 0;
    if (!lg_real.pthread_mutex_lock || !lg_real.pthread_mutex_unlock || !lg_real.pthread_create)
        LG_DIE("cannot find the real pthread functions (is this a glibc program?)");
    atomic_store_explicit(&done, true, memory_order_release);
}
