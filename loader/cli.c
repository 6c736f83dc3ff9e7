// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE
/* Helpers shared by the fragml commands: option defaults, errors, status output. */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canary.h"
#include "fragml_cli.h"
#include "fragml_daemon.h"
#include "fragml_policy.h"

void fragml_cli_open_opts(struct fragml_open_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->bpffs = getenv("FRAGML_BPFFS");
	o->btf_path = getenv("FRAGML_BTF");
}

int fragml_cli_fail(const char *prog, const struct fragml_err *err)
{
	fprintf(stderr, "%s: %s\n", prog, fragml_err_msg(err));
	return 1;
}

void fragml_cli_open_notes(const char *prog, const struct fragml_open_info *info)
{
	if (info->mounted_bpffs)
		fprintf(stderr, "%s: bpffs was not mounted: mounted it\n", prog);
	if (info->installed)
		fprintf(stderr, "%s: attached %d observe program(s)%s\n", prog, info->attached_progs,
			info->enforce ? " and the enforcing struct_ops policy" : "");
	/* once: with the first load, or when the guard comes (back) */
	if (info->guard_reason[0] && info->installed)
		fprintf(stderr, "%s: guard: unavailable (%s)\n", prog, info->guard_reason);
	else if (info->guard_new)
		fprintf(stderr, "%s: guard: active (docs/guard.md)\n", prog);
}

/* The guard: "guard: active (...)" or "guard: unavailable (reason)", and its log. */
static int print_guard(FILE *out, struct fragml_handle *h, struct json_object *root,
		       struct fragml_err *err)
{
	struct fragml_guard_status *gs = malloc(sizeof(*gs));
	bool active;
	int ret;

	if (!gs)
		return fragml_err_set(err, -ENOMEM, "out of memory");
	ret = fragml_guard_status(h, gs, err);
	if (ret)
		goto out;
	active = gs->state == FRAGML_GUARD_ACTIVE;
	if (root) {
		struct json_object *o = json_object_new_object(), *r = json_object_new_object();
		struct json_object *log = json_object_new_array();

		json_object_object_add(o, "state", json_object_new_string(active ? "active" : "unavailable"));
		if (!active)
			json_object_object_add(o, "reason", json_object_new_string(gs->reason));
		if (gs->trusted[0])
			json_object_object_add(o, "trusted_dir", json_object_new_string(gs->trusted));
		json_object_object_add(o, "protected_objects", json_object_new_int((int)gs->protected_objs));
		for (unsigned int k = 0; k < FRAGML_GUARD_KINDS; k++)
			json_object_object_add(r, fragml_guard_kind_name(k),
					       json_object_new_int64((int64_t)gs->refusals[k]));
		json_object_object_add(o, "refusals", r);
		json_object_object_add(o, "refusals_total", json_object_new_int64((int64_t)gs->total));
		for (unsigned int i = 0; i < gs->n_log; i++) {
			const struct fragml_guard_event *e = &gs->log[i];
			struct json_object *x = json_object_new_object();
			/* the offender chose its comm: keep the JSON valid UTF-8 */
			char comm[sizeof(e->comm) * 3 + 1];

			fragml_utf8_clean(comm, sizeof(comm), e->comm);

			json_object_object_add(x, "seq", json_object_new_int64((int64_t)e->seq));
			json_object_object_add(x, "boot_ns", json_object_new_int64((int64_t)e->boot_ns));
			json_object_object_add(x, "kind", json_object_new_string(fragml_guard_kind_name(e->kind)));
			json_object_object_add(x, "pid", json_object_new_int64(e->tgid));
			json_object_object_add(x, "tid", json_object_new_int64(e->pid));
			json_object_object_add(x, "uid", json_object_new_int64(e->uid));
			json_object_object_add(x, "comm", json_object_new_string(comm));
			json_object_object_add(x, "bpf_cmd", json_object_new_int(e->cmd));
			json_object_object_add(x, "id", json_object_new_int64(e->id));
			json_object_array_add(log, x);
		}
		json_object_object_add(o, "log", log);
		json_object_object_add(root, "guard", o);
		goto out;
	}
	if (!active) {
		fprintf(out, "guard: unavailable (%s)\n", gs->reason);
		goto out;
	}
	fprintf(out, "guard: active (%u maps and links protected, tools trusted in %s), %llu refusal(s)",
		gs->protected_objs, gs->trusted, (unsigned long long)gs->total);
	for (unsigned int k = 0; k < FRAGML_GUARD_KINDS; k++)
		if (gs->refusals[k])
			fprintf(out, " %s=%llu", fragml_guard_kind_name(k),
				(unsigned long long)gs->refusals[k]);
	fprintf(out, "\n");
	for (unsigned int i = gs->n_log > 5 ? gs->n_log - 5 : 0; i < gs->n_log; i++) {
		const struct fragml_guard_event *e = &gs->log[i];

		fprintf(out, "  refused #%llu: %s by pid %u (%s) uid %u", (unsigned long long)e->seq,
			fragml_guard_kind_name(e->kind), e->tgid, e->comm, e->uid);
		if (e->cmd >= 0)
			fprintf(out, ", bpf cmd %d", e->cmd);
		if (e->id)
			fprintf(out, ", object id %u", e->id);
		fprintf(out, "\n");
	}
out:
	free(gs);
	return ret;
}

/* Kernel memory of everything pinned: totals, then one row per map/program. */
static int print_kmem(FILE *out, struct fragml_handle *h, struct json_object *root,
		      struct fragml_err *err)
{
	struct fragml_kmem km;
	int ret = fragml_kmem_read(h, &km, err);

	if (ret)
		return ret;
	if (root) {
		struct json_object *o = json_object_new_object(), *a = json_object_new_array();

		json_object_object_add(o, "total_bytes",
				       json_object_new_int64((int64_t)(km.map_bytes + km.prog_bytes)));
		json_object_object_add(o, "map_bytes", json_object_new_int64((int64_t)km.map_bytes));
		json_object_object_add(o, "prog_bytes", json_object_new_int64((int64_t)km.prog_bytes));
		json_object_object_add(o, "maps", json_object_new_int((int)km.n_maps));
		json_object_object_add(o, "programs", json_object_new_int((int)km.n_progs));
		for (unsigned int i = 0; i < km.n; i++) {
			const struct fragml_kmem_obj *k = &km.obj[i];
			struct json_object *e = json_object_new_object();

			json_object_object_add(e, "kind", json_object_new_string(k->is_prog ? "prog" : "map"));
			json_object_object_add(e, "id", json_object_new_int64(k->id));
			json_object_object_add(e, "name", json_object_new_string(k->name));
			json_object_object_add(e, "type", json_object_new_string(k->type));
			if (!k->is_prog) {
				json_object_object_add(e, "max_entries", json_object_new_int64(k->max_entries));
				json_object_object_add(e, "value_size", json_object_new_int64(k->value_size));
				json_object_object_add(e, "flags", json_object_new_int64(k->flags));
			}
			json_object_object_add(e, "bytes", json_object_new_int64((int64_t)k->bytes));
			json_object_array_add(a, e);
		}
		json_object_object_add(o, "objects", a);
		json_object_object_add(root, "kernel_memory", o);
	} else {
		fprintf(out, "kernel memory (memlock reported by the kernel): %llu bytes = %.1f KiB "
			"(%u maps %llu, %u programs %llu)\n",
			(unsigned long long)(km.map_bytes + km.prog_bytes),
			(km.map_bytes + km.prog_bytes) / 1024.0, km.n_maps, (unsigned long long)km.map_bytes,
			km.n_progs, (unsigned long long)km.prog_bytes);
		fprintf(out, "  %-16s %-18s %11s %6s %10s\n", "map", "type", "max_entries", "value",
			"bytes");
		for (unsigned int i = 0; i < km.n; i++) {
			const struct fragml_kmem_obj *k = &km.obj[i];

			if (!k->is_prog)
				fprintf(out, "  %-16s %-18s %11u %6u %10llu\n", k->name, k->type,
					k->max_entries, k->value_size, (unsigned long long)k->bytes);
		}
	}
	fragml_kmem_free(&km);
	return 0;
}

/* Canary agreements per hook, and the cgroup scope (enforce mode only). */
static uint64_t scope_want[FRAGML_SCOPE_MAX];
static char scope_path[FRAGML_SCOPE_MAX][256];
static int scope_n, scope_found;

static int scope_visit(const char *path, const struct stat *st, int type, struct FTW *f)
{
	uint64_t id;

	(void)st;
	(void)f;
	if (type != FTW_D || fragml_cgroup_id(path, &id, NULL))
		return 0;
	for (int i = 0; i < scope_n; i++)
		if (id == scope_want[i] && !scope_path[i][0]) {
			snprintf(scope_path[i], sizeof(scope_path[i]), "%s", path);
			scope_found++;
		}
	return scope_found == scope_n ? 1 : 0;
}

static int print_canary_scope(FILE *out, struct fragml_handle *h, struct json_object *root,
			      struct fragml_err *err)
{
	struct json_object *co = root ? json_object_new_object() : NULL;
	int n;

	for (unsigned int hook = 0; hook < FRAGML_NR_HOOKS; hook++) {
		struct fragml_canary_status cs;
		char cells[512] = "";
		size_t len = 0;

		if (fragml_canary_status(h, hook, &cs, err))
			goto fail;
		if (!cs.available)
			break;
		if (!cs.loaded && !cs.agree && !cs.disagree)
			continue;
		for (unsigned int l = 0; l < FRAGML_MAX_ACTIONS; l++)
			for (unsigned int c = 0; c < FRAGML_MAX_ACTIONS; c++)
				if (l != c && cs.matrix[l][c] && len < sizeof(cells))
					len += snprintf(cells + len, sizeof(cells) - len, " %s->%s=%llu",
							fragml_action_name(hook, l), fragml_action_name(hook, c),
							(unsigned long long)cs.matrix[l][c]);
		if (co) {
			struct json_object *o = json_object_new_object(), *d = json_object_new_object();

			json_object_object_add(o, "loaded", json_object_new_boolean(cs.loaded));
			if (cs.loaded)
				json_object_object_add(o, "sha256", json_object_new_string(cs.sha256));
			json_object_object_add(o, "agree", json_object_new_int64((int64_t)cs.agree));
			json_object_object_add(o, "disagree", json_object_new_int64((int64_t)cs.disagree));
			for (unsigned int l = 0; l < FRAGML_MAX_ACTIONS; l++)
				for (unsigned int c = 0; c < FRAGML_MAX_ACTIONS; c++)
					if (l != c && cs.matrix[l][c]) {
						char k[64];

						snprintf(k, sizeof(k), "%s->%s", fragml_action_name(hook, l),
							 fragml_action_name(hook, c));
						json_object_object_add(d, k, json_object_new_int64((int64_t)cs.matrix[l][c]));
					}
			json_object_object_add(o, "disagreements", d);
			json_object_object_add(co, fragml_hook_name(hook), o);
		} else {
			fprintf(out, "canary %-11s %s: agree %llu, disagree %llu%s%s%s\n", fragml_hook_name(hook),
				cs.loaded ? cs.sha256 : "(removed)", (unsigned long long)cs.agree,
				(unsigned long long)cs.disagree, len ? " (live->candidate:" : "", cells,
				len ? ")" : "");
		}
	}
	if (co)
		json_object_object_add(root, "canary", co);
	n = fragml_scope_get(h, scope_want, NULL);
	if (n < 0)
		return 0;	/* no policy: no scope */
	scope_n = n;
	scope_found = 0;
	memset(scope_path, 0, sizeof(scope_path));
	if (n)
		nftw("/sys/fs/cgroup", scope_visit, 16, FTW_PHYS);
	if (root) {
		struct json_object *a = json_object_new_array();

		for (int i = 0; i < n; i++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "id", json_object_new_int64((int64_t)scope_want[i]));
			json_object_object_add(o, "path", scope_path[i][0] ?
					       json_object_new_string(scope_path[i]) : NULL);
			json_object_array_add(a, o);
		}
		json_object_object_add(root, "scope", a);
		return 0;
	}
	if (!n)
		fprintf(out, "scope: every task\n");
	for (int i = 0; i < n; i++)
		fprintf(out, "%s cgroup id %llu (%s)%s", i ? "," : "scope: only", (unsigned long long)scope_want[i],
			scope_path[i][0] ? scope_path[i] : "path not found", i + 1 == n ? "\n" : "");
	return 0;
fail:
	json_object_put(co);
	return err->code;
}

/* <run_dir>/watchdog.json, as the daemon names it (FRAGML_RUN_DIR overrides) */
static const char *watchdog_path(void)
{
	static char path[PATH_MAX];
	const char *d = getenv("FRAGML_RUN_DIR");

	snprintf(path, sizeof(path), "%s/" FRAGML_WD_STATE_FILE, d && *d ? d : FRAGML_WD_RUN_DIR);
	return path;
}

static const char *jstr(struct json_object *o, const char *key, const char *def)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : def;
}

void fragml_cli_watchdog_line(FILE *out, struct json_object *st)
{
	const char *state = jstr(st, "state", "?");
	struct json_object *v;
	int pid = json_object_object_get_ex(st, "pid", &v) ? json_object_get_int(v) : 0;
	bool alive = pid > 0 && kill(pid, 0) == 0;

	char cur[64];

	if (!strcmp(state, "detached"))
		fprintf(out, "watchdog: detached by watchdog: %s at %s%s\n", jstr(st, "reason", "?"),
			jstr(st, "at", "?"), fragml_policy_current(cur, sizeof(cur), NULL) == 0 ?
			" (a policy has been attached again since)" : "");
	else if (!strcmp(state, "stopped") || !alive)
		fprintf(out, "watchdog: not running (%s since %s, pid %d); the policy is left as it was\n",
			state, jstr(st, "since", "?"), pid);
	else
		fprintf(out, "watchdog: %s since %s (pid %d), %s worse interval(s) in a row of %s\n",
			state, jstr(st, "since", "?"), pid, jstr(st, "worse_in_a_row", "0"),
			jstr(st, "consecutive", "?"));
}

/* The watchdog's state file, when a daemon ever ran here. */
static void print_watchdog(FILE *out, struct json_object *root)
{
	struct json_object *st = json_object_from_file(watchdog_path());

	if (!st)
		return;
	if (root) {
		json_object_object_add(root, "watchdog", st);
		return;
	}
	fragml_cli_watchdog_line(out, st);
	json_object_put(st);
}

int fragml_cli_status(FILE *out, struct fragml_handle *h, bool json, struct fragml_err *err)
{
	struct json_object *root = NULL, *hooks = NULL, *progs = NULL;
	char names[32][64];
	uint32_t mode, schema;
	int n, ret;

	ret = fragml_running_mode(h, &mode, &schema, err);
	if (ret)
		return ret;
	n = fragml_attached_programs(h, names, 32, err);
	if (n < 0)
		return n;
	if (json) {
		root = json_object_new_object();
		hooks = json_object_new_object();
		progs = json_object_new_array();
		json_object_object_add(root, "mode", json_object_new_string(fragml_mode_name(mode)));
		json_object_object_add(root, "schema", json_object_new_int((int)schema));
		json_object_object_add(root, "pin_dir", json_object_new_string(fragml_pin_dir(h)));
		for (int i = 0; i < n; i++)
			json_object_array_add(progs, json_object_new_string(names[i]));
		json_object_object_add(root, "programs", progs);
		json_object_object_add(root, "hooks", hooks);
	} else {
		fprintf(out, "mode: %s (feature schema %u), pins in %s, %d program(s) attached\n",
			fragml_mode_name(mode), schema, fragml_pin_dir(h), n);
		fprintf(out, "%-11s %7s %10s %5s %5s %5s %9s  %s\n", "hook", "version", "crc32", "trees",
			"nodes", "depth", "map_bytes", "decisions per action");
	}
	for (unsigned int hook = 0; hook < FRAGML_NR_HOOKS; hook++) {
		struct fragml_hook_status st;

		ret = fragml_status(h, hook, &st, err);
		if (ret)
			goto out;
		if (json) {
			struct json_object *o = json_object_new_object(), *d = json_object_new_object();

			json_object_object_add(o, "loaded", json_object_new_boolean(st.loaded));
			json_object_object_add(o, "version", json_object_new_int64(st.version));
			json_object_object_add(o, "previous_version", json_object_new_int64(st.prev_version));
			if (st.loaded) {
				char crc[16];

				snprintf(crc, sizeof(crc), "%08x", st.crc32);
				json_object_object_add(o, "sha256", json_object_new_string(st.sha256));
				json_object_object_add(o, "crc32", json_object_new_string(crc));
				json_object_object_add(o, "trees", json_object_new_int(st.n_trees));
				json_object_object_add(o, "nodes", json_object_new_int(st.n_nodes));
				json_object_object_add(o, "max_depth", json_object_new_int(st.max_depth));
				json_object_object_add(o, "map_bytes", json_object_new_int64((int64_t)st.map_bytes));
				for (unsigned int a = 0; a < st.n_actions; a++)
					json_object_object_add(d, fragml_action_name(hook, a),
							       json_object_new_int64((int64_t)st.decisions[a]));
			}
			json_object_object_add(o, "decisions", d);
			if (st.loaded && mode == FRAGML_MODE_ENFORCE &&
			    (FRAGML_ENFORCE_HOOKS & FRAGML_HOOKBIT(hook)) &&
			    (FRAGML_OBSERVE_HOOKS & FRAGML_HOOKBIT(hook))) {
				struct json_object *sd = json_object_new_object();

				for (unsigned int a = 0; a < st.n_actions; a++)
					json_object_object_add(sd, fragml_action_name(hook, a),
							       json_object_new_int64((int64_t)st.shadow[a]));
				json_object_object_add(o, "shadow_decisions", sd);
			}
			json_object_object_add(hooks, fragml_hook_name(hook), o);
			continue;
		}
		if (!st.loaded) {
			fprintf(out, "%-11s %7s %10s %5s %5s %5s %9s  (kernel default%s)\n",
				fragml_hook_name(hook), "-", "-", "-", "-", "-", "-",
				st.prev_version ? ", rollback available" : "");
			continue;
		}
		fprintf(out, "%-11s %7u   %08x %5u %5u %5u %9llu ", fragml_hook_name(hook), st.version,
			st.crc32, st.n_trees, st.n_nodes, st.max_depth, (unsigned long long)st.map_bytes);
		for (unsigned int a = 0; a < st.n_actions; a++)
			fprintf(out, " %s=%llu", fragml_action_name(hook, a),
				(unsigned long long)st.decisions[a]);
		fprintf(out, "\n%-11s sha256 %s\n", "", st.sha256);
		if (mode == FRAGML_MODE_ENFORCE && (FRAGML_ENFORCE_HOOKS & FRAGML_HOOKBIT(hook)) &&
		    (FRAGML_OBSERVE_HOOKS & FRAGML_HOOKBIT(hook))) {
			fprintf(out, "%-11s shadow (observe programs, not enforced):", "");
			for (unsigned int a = 0; a < st.n_actions; a++)
				fprintf(out, " %s=%llu", fragml_action_name(hook, a),
					(unsigned long long)st.shadow[a]);
			fputc('\n', out);
		}
	}
	print_watchdog(out, root);
	ret = print_canary_scope(out, h, root, err);
	if (ret)
		goto out;
	ret = print_guard(out, h, root, err);
	if (ret)
		goto out;
	{
		/* the site lifetime table (site_long_ppk, path_long_ppk): absent
		 * before the observe programs */
		uint32_t n, trained, paths, maxe;

		if (!fragml_site_table_stat(h, &n, &trained, &paths, &maxe)) {
			if (root) {
				struct json_object *o = json_object_new_object();

				json_object_object_add(o, "sites", json_object_new_int64(n));
				json_object_object_add(o, "seeded", json_object_new_int64(trained));
				json_object_object_add(o, "paths", json_object_new_int64(paths));
				json_object_object_add(o, "max_entries", json_object_new_int64(maxe));
				json_object_object_add(root, "site_lifetime_table", o);
			} else {
				fprintf(out, "site lifetime table: %u sites (%u seeded by fragml-load --site-table), %u kernel paths, room for %u\n",
					n, trained, paths, maxe);
			}
		}
	}
	ret = print_kmem(out, h, root, err);
	if (ret)
		goto out;
	if (json)
		fprintf(out, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
out:
	json_object_put(root);
	return ret;
}

void fragml_cli_report_model(const char *prog, const char *what, uint32_t version,
			     const struct fragml_model *m, const struct fragml_open_info *oi, bool json)
{
	fragml_cli_report_model_sha(prog, what, version, m, NULL, oi, json);
}

void fragml_cli_report_model_sha(const char *prog, const char *what, uint32_t version,
				 const struct fragml_model *m, const char *sha256,
				 const struct fragml_open_info *oi, bool json)
{
	const char *hook = fragml_hook_name(m->hook);
	char sha[FRAGML_SHA256_HEX], crc[16];

	if (sha256 && *sha256)
		snprintf(sha, sizeof(sha), "%s", sha256);
	else if (fragml_model_sha256(m, sha, NULL))
		snprintf(sha, sizeof(sha), "unknown");
	snprintf(crc, sizeof(crc), "%08x", m->crc32);
	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "action", json_object_new_string(what));
		json_object_object_add(o, "hook", json_object_new_string(hook));
		json_object_object_add(o, "version", json_object_new_int64(version));
		json_object_object_add(o, "sha256", json_object_new_string(sha));
		json_object_object_add(o, "crc32", json_object_new_string(crc));
		json_object_object_add(o, "trees", json_object_new_int(m->n_trees));
		json_object_object_add(o, "nodes", json_object_new_int(m->n_nodes));
		json_object_object_add(o, "max_depth", json_object_new_int(m->max_depth));
		if (oi) {
			json_object_object_add(o, "mode",
					       json_object_new_string(oi->enforce ? "enforce" : "observe"));
			json_object_object_add(o, "guard",
					       json_object_new_string(oi->guard_active ? "active" : "unavailable"));
			if (!oi->guard_active && oi->guard_reason[0])
				json_object_object_add(o, "guard_reason",
						       json_object_new_string(oi->guard_reason));
		}
		printf("%s\n", json_object_to_json_string(o));
		json_object_put(o);
		return;
	}
	printf("%s: %s %s model%s%.0u (sha256 %s, crc32 %s, %u trees, %u nodes, depth %u)%s\n", prog,
	       what, hook, version ? " v" : "", version, sha, crc, m->n_trees, m->n_nodes, m->max_depth,
	       oi ? (oi->enforce ? " - enforce mode" : " - observe mode (shadow decisions)") : "");
}

int fragml_cli_rollback(const char *prog, const struct fragml_open_opts *oo, unsigned int hook,
			bool json, bool quiet)
{
	struct fragml_err err = { 0 };
	struct fragml_handle *h = NULL;
	struct fragml_model *m = malloc(sizeof(*m));
	struct fragml_hook_status st;
	uint32_t version = 0;
	int ret = 1;

	if (!m) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	if (fragml_open(&h, oo, NULL, &err) || fragml_rollback(h, hook, &version, &err)) {
		ret = fragml_cli_fail(prog, &err);
		goto out;
	}
	ret = 0;
	if (quiet)
		goto out;
	/* name what runs now by its SHA-256, recorded in the kernel at publish */
	if (fragml_live_model(h, hook, m, NULL, &err) == 0 &&
	    fragml_status(h, hook, &st, &err) == 0) {
		m->crc32 = st.crc32;
		fragml_cli_report_model_sha(prog, "rolled back to", version, m, st.sha256, NULL, json);
	}
	else if (json)
		printf("{ \"action\": \"rolled back to\", \"hook\": \"%s\", \"version\": %u }\n",
		       fragml_hook_name(hook), version);
	else
		printf("%s: rolled back %s: now v%u\n", prog, fragml_hook_name(hook), version);
out:
	fragml_close(h);
	free(m);
	return ret;
}

int fragml_cli_guard(FILE *out, struct fragml_handle *h, bool json, struct fragml_err *err)
{
	struct json_object *root = json ? json_object_new_object() : NULL;
	int ret = print_guard(out, h, root, err);

	if (!ret && root)
		fprintf(out, "%s\n", json_object_to_json_string_ext(json_object_object_get(root, "guard"),
								     JSON_C_TO_STRING_PRETTY));
	json_object_put(root);
	return ret;
}
