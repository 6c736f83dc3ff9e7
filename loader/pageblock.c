// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-pageblock scan: each pageblock's migratetype read from the kernel's own
 * pageblock bits, combined with /proc/kpageflags and the collector's tracked
 * allocations, to count mixed (polluted) pageblocks and the allocation classes
 * that sit in them.  docs/identification.md "Pageblock scan" says exactly how a
 * page is classed.
 *
 * Where the bits are: x86-64 uses SPARSEMEM_VMEMMAP (+EXTREME), so they live in
 * mem_section[root][i].usage->pageblock_flags.  The stock host has no
 * CONFIG_KALLSYMS_ALL, so `mem_section` has no ksym; the kernel publishes its
 * value (and vmemmap, SECTION_SIZE_BITS) in the VMCOREINFO note for kdump, whose
 * physical address is /sys/kernel/vmcoreinfo.  A `syscall` BPF program
 * (bpf/fragml_kread.bpf.c) reads the note through the direct map and then the
 * sections; field offsets come from the running kernel's BTF (CO-RE by hand).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "fragml_collect.h"
#include "fragml_kread.skel.h"
#include "fragml_collect_events.h"
#include "mono_ns.h"

/* Direct map base when CONFIG_RANDOMIZE_MEMORY does not move it (x86-64, 4-level). */
#define DIRECT_MAP_DEFAULT	0xffff888000000000ULL
#define SECTION_MARKED_PRESENT	0x1UL
#define SECTION_HAS_MEM_MAP	0x2UL
#define MIGRATETYPE_MASK	0x7UL

/* kpageflags bits (include/uapi/linux/kernel-page-flags.h) */
#define KPF_LRU		5
#define KPF_SLAB	7
#define KPF_BUDDY	10
#define KPF_ANON	12
#define KPF_NOPAGE	20
#define KPF_THP		22
#define KPF_OFFLINE	23
#define KPF_PGTABLE	26

struct kmem {
	struct fragml_kread *skel;
	int fd;
};

static int kread(struct kmem *k, uint64_t addr, void *dst, uint32_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);

	while (len) {
		/* a test run reads at most the program's buffer (FRAGML_KREAD_MAX) */
		uint32_t n = len > sizeof(k->skel->bss->kread_buf) ? sizeof(k->skel->bss->kread_buf) : len;

		k->skel->bss->kread_addr = addr;
		k->skel->bss->kread_len = n;
		if (bpf_prog_test_run_opts(k->fd, &o) || k->skel->bss->kread_ret)
			return -EFAULT;
		memcpy(dst, (const void *)k->skel->bss->kread_buf, n);
		addr += n;
		dst = (char *)dst + n;
		len -= n;
	}
	return 0;
}

static int vmci_num(const char *note, const char *key, unsigned long long *v, int base)
{
	const char *p = strstr(note, key);

	if (!p)
		return -ENOENT;
	*v = strtoull(p + strlen(key), NULL, base);
	return 0;
}

static int btf_member_off(const struct btf *btf, const char *type, const char *member)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	const struct btf_type *t;
	const struct btf_member *m;

	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
			return (int)(btf_member_bit_offset(t, i) / 8);
	return -ENOENT;
}

/* Bits per pageblock: NR_PAGEBLOCK_BITS (6.12: 4) or roundup_pow_of_two(__NR_PAGEBLOCK_BITS) (6.18: 8). */
static int pageblock_bits(const struct btf *btf)
{
	int id = btf__find_by_name_kind(btf, "pageblock_bits", BTF_KIND_ENUM);
	const struct btf_type *t;
	const struct btf_enum *e;

	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, e++) {
		const char *n = btf__name_by_offset(btf, e->name_off);

		if (!strcmp(n, "NR_PAGEBLOCK_BITS"))
			return e->val;
		if (!strcmp(n, "__NR_PAGEBLOCK_BITS")) {
			int b = 1;

			while (b < e->val)
				b <<= 1;
			return b;
		}
	}
	return -ENOENT;
}

struct tracked { uint64_t pfn, key; uint32_t cls; int32_t mt; };

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int tracked_cmp(const void *a, const void *b)
{
	const struct tracked *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

static const struct tracked *tracked_find(const struct tracked *t, size_t n, uint64_t pfn)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t[mid].pfn < pfn)
			lo = mid + 1;
		else if (t[mid].pfn > pfn)
			hi = mid;
		else
			return &t[mid];
	}
	return NULL;
}

static struct tracked *read_tracked(int fd, uint64_t vmemmap, size_t *n)
{
	size_t cap = 4096;
	struct tracked *t = malloc(cap * sizeof(*t));
	__u64 k, nk;
	void *kp = NULL;
	struct fragml_live v;

	*n = 0;
	if (!t)
		return NULL;
	for (; fd >= 0 && !bpf_map_get_next_key(fd, kp, &nk); kp = &k) {
		k = nk;
		if (bpf_map_lookup_elem(fd, &k, &v) || k < vmemmap)
			continue;
		for (uint32_t i = 0; i < (1u << (v.order & 15)); i++) {
			if (*n == cap) {
				struct tracked *nt = realloc(t, 2 * cap * sizeof(*t));

				if (!nt)
					break;
				t = nt;
				cap *= 2;
			}
			t[*n].pfn = (k - vmemmap) / 64 + i;
			t[*n].key = k;
			t[*n].cls = v.src.cls;
			t[*n].mt = v.alloc_mt;
			(*n)++;
		}
	}
	qsort(t, *n, sizeof(*t), tracked_cmp);
	return t;
}

static int kmem_open(struct kmem *k, struct fragml_err *err)
{
	k->skel = fragml_kread__open_and_load();
	if (!k->skel)
		return fragml_err_set(err, -errno,
			"pageblock scan: cannot load the kernel-read program (%s): needs root, BTF and `syscall` BPF programs",
			strerror(errno));
	k->fd = bpf_program__fd(k->skel->progs.fragml_kread);
	return 0;
}

int fragml_pageblock_scan(struct fragml_pageblock_scan *s, int live_fd, struct fragml_err *err)
{
	unsigned long long note_pa = 0, ms_root = 0, nr_roots = 0, ms_size = 0, sect_bits = 0;
	unsigned long long vmemmap = 0, page_size = 0;
	unsigned int spr, blocks_per_sect, bits;
	int usage_off, pbf_off, kpf = -1, ret = 0;
	char note[4097];
	struct kmem k = {};
	struct btf *btf = NULL;
	struct tracked *tr = NULL;
	size_t ntr = 0, nfree = 0, free_cap = 0;
	uint64_t *freed = NULL;
	uint64_t *roots = NULL, *kflags = NULL;
	uint8_t *sect = NULL;
	double t0 = loader_mono_s();
	FILE *f;

	memset(s, 0, sizeof(*s));
	f = fopen("/sys/kernel/vmcoreinfo", "r");
	if (!f || fscanf(f, "%llx", &note_pa) != 1) {
		if (f)
			fclose(f);
		return fragml_err_set(err, -ENOENT,
			"pageblock scan: /sys/kernel/vmcoreinfo unreadable: the kernel has no CONFIG_VMCORE_INFO, so mem_section cannot be found without CONFIG_KALLSYMS_ALL");
	}
	fclose(f);
	ret = kmem_open(&k, err);
	if (ret)
		return ret;
	if (kread(&k, DIRECT_MAP_DEFAULT + note_pa, note, 4096)) {
		ret = fragml_err_set(err, -EFAULT,
			"pageblock scan: VMCOREINFO at phys 0x%llx not readable through the default direct map (CONFIG_RANDOMIZE_MEMORY moved it?)",
			note_pa);
		goto out;
	}
	note[4096] = 0;
	for (int i = 0; i < 4096; i++)
		if (!note[i])
			note[i] = '\n';	/* the ELF note header holds NULs before the text */
	if (!strstr(note, "VMCOREINFO") || vmci_num(note, "SYMBOL(mem_section)=", &ms_root, 16) ||
	    vmci_num(note, "LENGTH(mem_section)=", &nr_roots, 10) ||
	    vmci_num(note, "SIZE(mem_section)=", &ms_size, 10) ||
	    vmci_num(note, "NUMBER(SECTION_SIZE_BITS)=", &sect_bits, 10) ||
	    vmci_num(note, "SYMBOL(vmemmap)=", &vmemmap, 16) ||
	    vmci_num(note, "PAGESIZE=", &page_size, 10)) {
		ret = fragml_err_set(err, -ENOENT,
			"pageblock scan: VMCOREINFO lacks mem_section/vmemmap/SECTION_SIZE_BITS (not SPARSEMEM_VMEMMAP?)");
		goto out;
	}
	btf = btf__load_vmlinux_btf();
	usage_off = btf ? btf_member_off(btf, "mem_section", "usage") : -ENOENT;
	pbf_off = btf ? btf_member_off(btf, "mem_section_usage", "pageblock_flags") : -ENOENT;
	bits = btf ? (unsigned int)pageblock_bits(btf) : 0;
	if (usage_off < 0 || pbf_off < 0 || (int)bits <= 0 || bits > 16 || page_size != 4096 ||
	    ms_size < 16 || ms_size > 64 || sect_bits < 21 || sect_bits > 40 || nr_roots > (1 << 20)) {
		ret = fragml_err_set(err, -ENOTSUP,
			"pageblock scan: unexpected layout (mem_section.usage %d, pageblock_flags %d, %u bits per block, page %llu, section %llu bits)",
			usage_off, pbf_off, bits, page_size, sect_bits);
		goto out;
	}
	s->nr_pageblock_bits = bits;
	s->vmemmap = vmemmap;
	spr = 4096 / ms_size;	/* SPARSEMEM_EXTREME: one page of sections per root */
	blocks_per_sect = 1u << (sect_bits - 12 - FRAGML_PAGEBLOCK_ORDER);
	roots = calloc(nr_roots, 8);
	sect = malloc(4096);
	kflags = malloc(sizeof(uint64_t) << (sect_bits - 12));
	if (!roots || !sect || !kflags) {
		ret = fragml_err_set(err, -ENOMEM, "pageblock scan: out of memory");
		goto out;
	}
	if (kread(&k, ms_root, roots, nr_roots * 8)) {
		ret = fragml_err_set(err, -EFAULT, "pageblock scan: mem_section roots at 0x%llx unreadable", ms_root);
		goto out;
	}
	kpf = open("/proc/kpageflags", O_RDONLY);
	if (kpf < 0) {
		ret = fragml_err_set(err, -errno, "/proc/kpageflags: %s", strerror(errno));
		goto out;
	}
	tr = read_tracked(live_fd, vmemmap, &ntr);
	s->tracked_pages = ntr;
	for (unsigned long long r = 0; r < nr_roots; r++) {
		if (!roots[r])
			continue;
		if (kread(&k, roots[r], sect, 4096))
			continue;
		for (unsigned int i = 0; i < spr; i++) {
			uint64_t map, usage, pbf[16];
			uint64_t nr = r * spr + i, pfn0 = nr << (sect_bits - 12);
			ssize_t got;

			memcpy(&map, sect + i * ms_size, 8);
			memcpy(&usage, sect + i * ms_size + usage_off, 8);
			if ((map & (SECTION_MARKED_PRESENT | SECTION_HAS_MEM_MAP)) !=
			    (SECTION_MARKED_PRESENT | SECTION_HAS_MEM_MAP) || !usage)
				continue;
			if (kread(&k, usage + pbf_off, pbf, (blocks_per_sect * bits + 63) / 64 * 8))
				continue;
			got = pread(kpf, kflags, sizeof(uint64_t) << (sect_bits - 12), pfn0 * 8);
			if (got <= 0)
				continue;
			s->sections++;
			for (unsigned int b = 0; b < blocks_per_sect; b++) {
				unsigned int bitidx = b * bits, mt;
				uint64_t first = (uint64_t)b << FRAGML_PAGEBLOCK_ORDER;
				unsigned int cls_wrong = 0, wrong = 0, any = 0, flagged = 0;

				mt = (pbf[bitidx / 64] >> (bitidx % 64)) & MIGRATETYPE_MASK;
				if ((first + 1) * 8 > (uint64_t)got)
					break;
				for (unsigned int p = 0; p < (1u << FRAGML_PAGEBLOCK_ORDER); p++) {
					uint64_t fl = kflags[first + p], pfn = pfn0 + first + p;
					const struct tracked *t = tracked_find(tr, ntr, pfn);
					int movable, cls, bad;

					if (fl & (1ULL << KPF_NOPAGE))
						continue;
					any = 1;
					flagged |= fl || t;
					if (t && fl & (1ULL << KPF_BUDDY)) {
						/* tracked but free: freed since the map was read
						 * (the programs still run), or an entry whose free
						 * was missed; told apart after the scan */
						if (nfree == free_cap) {
							size_t nc = free_cap ? 2 * free_cap : 1024;
							uint64_t *nk = realloc(freed, nc * sizeof(*nk));

							if (!nk)
								continue;
							freed = nk;
							free_cap = nc;
						}
						freed[nfree++] = t->key;
						continue;
					}
					if (t) {
						/* tracked: its migratetype and class are known exactly */
						cls = t->cls;
						bad = t->mt != (int)mt;
					} else if (fl & (1ULL << KPF_BUDDY) || fl & (1ULL << KPF_OFFLINE)) {
						continue;	/* free */
					} else if (fl & (1ULL << KPF_SLAB)) {
						cls = FRAGML_CLASS_SLAB;	/* unmovable or reclaimable: cache unknown */
						bad = mt == FRAGML_MT_MOVABLE;
					} else if (fl & (1ULL << KPF_PGTABLE)) {
						cls = FRAGML_CLASS_PAGETABLE;
						bad = mt != FRAGML_MT_UNMOVABLE;
					} else if (fl & ((1ULL << KPF_LRU) | (1ULL << KPF_ANON) | (1ULL << KPF_THP))) {
						movable = 1;
						cls = fl & (1ULL << KPF_ANON) ? FRAGML_CLASS_ANON : FRAGML_CLASS_PAGECACHE;
						bad = movable && (mt == FRAGML_MT_UNMOVABLE || mt == FRAGML_MT_RECLAIMABLE);
					} else {
						continue;	/* no flag and not tracked: free tail or unknown kernel page */
					}
					s->pages_by_class[cls & 7]++;
					if (bad && mt <= FRAGML_MT_RECLAIMABLE) {
						wrong++;
						s->wrong_pages_by_class[cls & 7]++;
						cls_wrong |= 1u << (cls & 7);
					}
				}
				if (!any)
					continue;
				if (!flagged && mt == FRAGML_MT_MOVABLE) {
					/* a MOVABLE block (memmap_init's default) in which not one
					 * page has a flag (a free block has a buddy head, movable
					 * pages are LRU/anon): memory outside the buddy allocator,
					 * which pagetypeinfo does not count.  Flag-less unmovable
					 * blocks are real: kernel pages without a page flag. */
					s->skipped_blocks++;
					continue;
				}
				{
					/* page->flags of the first page: 0 means a memmap never
					 * initialised (memory the buddy allocator does not manage:
					 * no zone; /proc/pagetypeinfo skips it too) */
					uint64_t pflags = 0;

					if (kread(&k, vmemmap + (pfn0 + first) * 64, &pflags, 8) || !pflags) {
						s->skipped_blocks++;
						continue;
					}
				}
				s->blocks++;
				s->blocks_by_mt[mt < FRAGML_PB_NR_MT ? mt : FRAGML_PB_NR_MT - 1]++;
				if (wrong) {
					s->mixed++;
					s->mixed_by_mt[mt < FRAGML_PB_NR_MT ? mt : FRAGML_PB_NR_MT - 1]++;
					for (int c = 0; c < FRAGML_NR_CLASSES; c++)
						if (cls_wrong & (1u << c))
							s->mixed_by_class[c]++;
				}
			}
		}
	}
	/* A tracked page found free whose entry is still in the map now, after
	 * the scan, is one whose free the programs missed: a stale entry. */
	if (nfree)
		qsort(freed, nfree, sizeof(*freed), u64_cmp);
	for (size_t i = 0; i < nfree; i++) {
		struct fragml_live v;

		if (i && freed[i] == freed[i - 1])
			continue;
		if (bpf_map_lookup_elem(live_fd, &freed[i], &v) == 0)
			s->tracked_stale_pages += 1u << (v.order & 15);
		else
			s->tracked_freed++;
	}
	if (!s->blocks)
		ret = fragml_err_set(err, -ENODATA, "pageblock scan: no section with a memmap found");
out:
	s->elapsed_s = loader_mono_s() - t0;
	if (kpf >= 0)
		close(kpf);
	free(roots);
	free(sect);
	free(kflags);
	free(tr);
	free(freed);
	btf__free(btf);
	fragml_kread__destroy(k.skel);
	return ret;
}

static json_object *json_per_class(const uint64_t *v)
{
	json_object *o = json_object_new_object();

	for (unsigned int c = 0; o && c < FRAGML_NR_CLASSES; c++)
		json_object_object_add(o, fragml_class_name(c), json_object_new_uint64(v[c]));
	return o;
}

static json_object *json_per_mt(const uint64_t *v)
{
	json_object *a = json_object_new_array();

	for (int i = 0; a && i < FRAGML_PB_NR_MT; i++)
		json_object_array_add(a, json_object_new_uint64(v[i]));
	return a;
}

int fragml_pageblock_json(const struct fragml_pageblock_scan *s, FILE *out)
{
	json_object *o = json_object_new_object();
	char secs[32];
	int ret;

	if (!o)
		return -ENOMEM;
	snprintf(secs, sizeof(secs), "%.3f", s->elapsed_s);
	json_object_object_add(o, "blocks", json_object_new_uint64(s->blocks));
	json_object_object_add(o, "skipped_blocks", json_object_new_uint64(s->skipped_blocks));
	json_object_object_add(o, "mixed", json_object_new_uint64(s->mixed));
	json_object_object_add(o, "pageblock_bits", json_object_new_int64(s->nr_pageblock_bits));
	json_object_object_add(o, "tracked_pages", json_object_new_uint64(s->tracked_pages));
	json_object_object_add(o, "tracked_freed", json_object_new_uint64(s->tracked_freed));
	json_object_object_add(o, "tracked_stale_pages", json_object_new_uint64(s->tracked_stale_pages));
	json_object_object_add(o, "elapsed_s", json_object_new_double_s(s->elapsed_s, secs));
	json_object_object_add(o, "blocks_by_mt", json_per_mt(s->blocks_by_mt));
	json_object_object_add(o, "mixed_by_mt", json_per_mt(s->mixed_by_mt));
	json_object_object_add(o, "mixed_by_class", json_per_class(s->mixed_by_class));
	json_object_object_add(o, "wrong_pages_by_class", json_per_class(s->wrong_pages_by_class));
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), out);
	ret = ferror(out) ? -EIO : 0;
	json_object_put(o);
	return ret;
}
