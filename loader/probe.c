// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What this kernel offers fragml (fragml_load.h, `fragml probe`): kernel BTF,
 * the mm_policy_ops struct_ops type and its members, and which program types
 * load and attach, found by loading the trivial programs of
 * bpf/fragml_probe.bpf.c one at a time (and libbpf's feature probe for
 * struct_ops), never from the kernel version.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fragml_load.h"
#include "fragml_policy.h"
#include "libbpf_log.h"
#include "fragml_probe.skel.h"


static const char *const type_names[FRAGML_PROBE_NR] = {
	[FRAGML_PROBE_TP_BTF] = "tp_btf",
	[FRAGML_PROBE_RAW_TP] = "raw_tp",
	[FRAGML_PROBE_TRACEPOINT] = "tracepoint",
	[FRAGML_PROBE_SYSCALL] = "syscall",
	[FRAGML_PROBE_STRUCT_OPS] = "struct_ops",
	[FRAGML_PROBE_FENTRY] = "fentry",
	[FRAGML_PROBE_LSM] = "lsm",
};

static const char *const policy_members[FRAGML_PROBE_NR_MEMBERS] = {
	"thp_fault", "compact", "fallback", "placement",
};

const char *fragml_probe_member_name(unsigned int i)
{
	return i < FRAGML_PROBE_NR_MEMBERS ? policy_members[i] : NULL;
}

static bool fs_is(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

/* Candidate fentry targets: any one the kernel's BTF has will do. */
static const char *fentry_target(const struct btf *vmlinux)
{
	static const char *const cands[] = { "vfs_read", "ksys_read", "do_sys_openat2", "vfs_write" };

	for (size_t i = 0; vmlinux && i < sizeof(cands) / sizeof(cands[0]); i++)
		if (btf__find_by_name_kind(vmlinux, cands[i], BTF_KIND_FUNC) > 0)
			return cands[i];
	return NULL;
}

static void set_result(struct fragml_probe_type *r, bool loads, bool attaches, int error,
		       const char *stage, const char *target)
{
	r->loads = loads;
	r->attaches = attaches;
	r->error = error;
	if (!error)
		return;
	snprintf(r->detail, sizeof(r->detail), "%s%s%s: %s%s%s", stage, target ? " " : "",
		 target ? target : "", strerror(-error), loader_libbpf_first()[0] ? " (" : "", loader_libbpf_first());
	if (loader_libbpf_first()[0] && strlen(r->detail) + 1 < sizeof(r->detail))
		strcat(r->detail, ")");
}

/* Load (and attach, unless `load_only`) one program of the probe object. */
static void probe_prog(struct fragml_probe_type *r, unsigned int which, const struct btf *vmlinux)
{
	struct fragml_probe *skel = fragml_probe__open();
	struct bpf_program *progs[FRAGML_PROBE_NR] = { 0 }, *prog, *p;
	const char *target = NULL;
	struct bpf_link *link;
	int ret;

	loader_libbpf_reset();
	if (!skel) {
		set_result(r, false, false, -errno, "open", NULL);
		return;
	}
	progs[FRAGML_PROBE_TP_BTF] = skel->progs.probe_tp_btf;
	progs[FRAGML_PROBE_RAW_TP] = skel->progs.probe_raw_tp;
	progs[FRAGML_PROBE_TRACEPOINT] = skel->progs.probe_tracepoint;
	progs[FRAGML_PROBE_SYSCALL] = skel->progs.probe_syscall;
	progs[FRAGML_PROBE_FENTRY] = skel->progs.probe_fentry;
	progs[FRAGML_PROBE_LSM] = skel->progs.probe_lsm;
	prog = progs[which];
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, p == prog);
	if (which == FRAGML_PROBE_FENTRY) {
		target = fentry_target(vmlinux);
		if (!target) {
			set_result(r, false, false, -ENOENT, "load (no known function in BTF)", NULL);
			goto out;
		}
		ret = bpf_program__set_attach_target(prog, 0, target);
		if (ret) {
			set_result(r, false, false, ret, "set target", target);
			goto out;
		}
	}
	ret = fragml_probe__load(skel);
	if (ret) {
		set_result(r, false, false, ret, "load", target);
		goto out;
	}
	if (which == FRAGML_PROBE_SYSCALL) {	/* run by BPF_PROG_TEST_RUN, never attached */
		set_result(r, true, true, 0, NULL, NULL);
		goto out;
	}
	loader_libbpf_reset();
	link = bpf_program__attach(prog);
	if (!link) {
		set_result(r, true, false, -errno, "attach", target);
		goto out;
	}
	bpf_link__destroy(link);
	set_result(r, true, true, 0, NULL, NULL);
out:
	fragml_probe__destroy(skel);
}

/* mm_policy_ops and the members probe mode requires for enforce mode (thp_fault,
 * compact, fallback, placement: FRAGML_PROBE_NR_MEMBERS), all of which the policy fills. */
static void probe_policy_type(const struct btf *vmlinux, struct fragml_probe_result *p)
{
	const struct btf_member *m;
	const struct btf_type *t;
	int id;

	if (!vmlinux)
		return;
	id = btf__find_by_name_kind(vmlinux, FRAGML_POLICY_KTYPE, BTF_KIND_STRUCT);
	if (id <= 0)
		return;
	p->policy_type = true;
	t = btf__type_by_id(vmlinux, (__u32)id);
	m = btf_members(t);
	for (unsigned int i = 0; i < btf_vlen(t); i++, m++) {
		const char *name = btf__name_by_offset(vmlinux, m->name_off);

		for (unsigned int k = 0; name && k < FRAGML_PROBE_NR_MEMBERS; k++)
			if (!strcmp(name, policy_members[k]))
				p->policy_member[k] = true;
	}
}

static void read_lsm(struct fragml_probe_result *p)
{
	FILE *f = fopen("/sys/kernel/security/lsm", "r");

	p->lsm_known = false;
	p->lsm[0] = '\0';
	if (!f)
		return;
	if (fgets(p->lsm, sizeof(p->lsm), f)) {
		p->lsm[strcspn(p->lsm, "\n")] = '\0';
		p->lsm_known = true;
	}
	fclose(f);
}

static void choose_mode(struct fragml_probe_result *p)
{
	const struct fragml_probe_type *t = p->types;
	bool members = true;

	for (unsigned int k = 0; k < FRAGML_PROBE_NR_MEMBERS; k++)
		members &= p->policy_member[k];
	if (!p->btf) {
		p->mode = "none";
		snprintf(p->mode_reason, sizeof(p->mode_reason),
			 "no kernel BTF (%s): fragml needs CONFIG_DEBUG_INFO_BTF=y", p->btf_path);
	} else if (!t[FRAGML_PROBE_TP_BTF].attaches || !t[FRAGML_PROBE_SYSCALL].loads) {
		p->mode = "none";
		snprintf(p->mode_reason, sizeof(p->mode_reason),
			 "the observe programs need tp_btf and syscall programs: %s",
			 !t[FRAGML_PROBE_TP_BTF].attaches ? t[FRAGML_PROBE_TP_BTF].detail :
			 t[FRAGML_PROBE_SYSCALL].detail);
	} else if (p->policy_type && members && t[FRAGML_PROBE_STRUCT_OPS].loads) {
		p->mode = "enforce";
		snprintf(p->mode_reason, sizeof(p->mode_reason),
			 "%s with thp_fault, compact, fallback and placement, struct_ops loads: the policy decides (fragml-load --no-policy keeps observe mode)",
			 FRAGML_POLICY_KTYPE);
	} else {
		p->mode = "observe";
		snprintf(p->mode_reason, sizeof(p->mode_reason),
			 "%s: decisions are computed and counted, not enforced (the enforcing hooks come with kernel-patches/)",
			 !p->policy_type ? "no " FRAGML_POLICY_KTYPE " in the kernel's BTF" :
			 !members ? FRAGML_POLICY_KTYPE " lacks a member fragml fills" :
			 "struct_ops programs do not load");
	}
}

int fragml_probe_kernel(struct fragml_probe_result *p, const char *btf_path, struct fragml_err *err)
{
	libbpf_print_fn_t old;
	struct btf *vmlinux = NULL;
	int ret;

	memset(p, 0, sizeof(*p));
	snprintf(p->btf_path, sizeof(p->btf_path), "%s", btf_path ? btf_path : FRAGML_DEFAULT_BTF);
	if (geteuid() != 0)
		return fragml_err_set(err, -EPERM,
				      "probe: needs root (CAP_BPF to load the probe programs, CAP_PERFMON to attach them, CAP_SYS_ADMIN for tracepoints): run as root");
	p->btf = access(p->btf_path, R_OK) == 0;
	if (p->btf) {
		vmlinux = btf__parse(p->btf_path, NULL);
		p->btf = vmlinux != NULL;
	}
	p->bpffs_mounted = fs_is(FRAGML_DEFAULT_BPFFS, BPF_FS_MAGIC);
	p->tracefs_mounted = fs_is("/sys/kernel/tracing", TRACEFS_MAGIC) ||
			     fs_is("/sys/kernel/debug/tracing", TRACEFS_MAGIC);
	read_lsm(p);
	probe_policy_type(vmlinux, p);

	old = libbpf_set_print(loader_libbpf_print);
	for (unsigned int t = 0; t < FRAGML_PROBE_NR; t++) {
		struct fragml_probe_type *r = &p->types[t];

		r->name = type_names[t];
		if (t == FRAGML_PROBE_STRUCT_OPS) {
			/* libbpf's feature probe: the kernel knows the program type */
			loader_libbpf_reset();
			ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_STRUCT_OPS, NULL);
			set_result(r, ret == 1, ret == 1, ret == 1 ? 0 : ret < 0 ? ret : -EOPNOTSUPP,
				   "load", NULL);
			continue;
		}
		if (!p->btf && (t == FRAGML_PROBE_TP_BTF || t == FRAGML_PROBE_FENTRY ||
				t == FRAGML_PROBE_LSM)) {
			loader_libbpf_reset();
			set_result(r, false, false, -ENOENT, "load (needs kernel BTF)", NULL);
			continue;
		}
		probe_prog(r, t, vmlinux);
	}
	libbpf_set_print(old);
	btf__free(vmlinux);
	choose_mode(p);
	return 0;
}
