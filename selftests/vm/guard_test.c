// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * VM selftests of the guard (bpf/fragml_guard.bpf.c, docs/guard.md) on the
 * patched kernel with the BPF LSM: a root shell (bpftool, rm, this test
 * process) may not change fragml's models, links or pins; fragml's own
 * tools still publish, roll back, detach and remove the guard, and every
 * refusal shows in `fragml status --json` with the offender's pid and comm.
 *
 * SKIP where the kernel has no BPF LSM (bpf missing from
 * /sys/kernel/security/lsm).  Runs last in the VM: it leaves nothing pinned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "kselftest_harness.h"
#include "fragml_policy.h"
#include "vmlib.h"

#define PIN		FRAGML_PIN_DIR

static const char *bin(void)
{
	return env_or("FRAGML_BIN", "build/bin");
}

static const char *bpftool(void)
{
	return env_or("FRAGML_BPFTOOL", "bpftool");
}

/* Run a shell command, its stdout and stderr into out; returns the exit status. */
static int run(char *out, size_t len, const char *fmt, ...)
{
	char cmd[1024];
	size_t n = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
	va_end(ap);
	strcat(cmd, " 2>&1");
	p = popen(cmd, "r");
	if (!p)
		return -1;
	out[0] = '\0';
	while (n + 1 < len && fgets(out + n, (int)(len - n), p))
		n += strlen(out + n);
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* `fragml status --json`, parsed; NULL on failure.  json_object_put() it. */
static struct json_object *status_json(void)
{
	static char buf[1 << 16];

	if (run(buf, sizeof(buf), "%s/fragml status --json", bin()))
		return NULL;
	return json_tokener_parse(buf);
}

static const char *guard_state(struct json_object *st, const char **reason)
{
	struct json_object *g, *s, *r;

	*reason = "";
	if (!st || !json_object_object_get_ex(st, "guard", &g) ||
	    !json_object_object_get_ex(g, "state", &s))
		return "?";
	if (json_object_object_get_ex(g, "reason", &r))
		*reason = json_object_get_string(r);
	return json_object_get_string(s);
}

static long long refusals(const char *kind)
{
	struct json_object *st = status_json(), *g, *r, *v;
	long long n = -1;

	if (st && json_object_object_get_ex(st, "guard", &g) &&
	    json_object_object_get_ex(g, "refusals", &r) && json_object_object_get_ex(r, kind, &v))
		n = json_object_get_int64(v);
	json_object_put(st);
	return n;
}

/* Is there a refusal of `kind` by a task named `comm` (with a pid) for object id (0: any)? */
static bool logged(const char *kind, const char *comm, unsigned int id)
{
	struct json_object *st = status_json(), *g, *log;
	bool found = false;

	if (!st || !json_object_object_get_ex(st, "guard", &g) ||
	    !json_object_object_get_ex(g, "log", &log))
		goto out;
	for (size_t i = 0; i < json_object_array_length(log) && !found; i++) {
		struct json_object *e = json_object_array_get_idx(log, i), *k, *c, *p, *d;

		if (json_object_object_get_ex(e, "kind", &k) && json_object_object_get_ex(e, "comm", &c) &&
		    json_object_object_get_ex(e, "pid", &p) && json_object_object_get_ex(e, "id", &d) &&
		    !strcmp(json_object_get_string(k), kind) &&
		    !strncmp(json_object_get_string(c), comm, 15) && json_object_get_int64(p) > 0 &&
		    (!id || json_object_get_int64(d) == id))
			found = true;
	}
out:
	json_object_put(st);
	return found;
}

/* thp_fault: version in the slot, from status. */
static long long thp_version(void)
{
	struct json_object *st = status_json(), *h, *t, *v;
	long long ver = -1;

	if (st && json_object_object_get_ex(st, "hooks", &h) &&
	    json_object_object_get_ex(h, "thp_fault", &t) && json_object_object_get_ex(t, "version", &v))
		ver = json_object_get_int64(v);
	json_object_put(st);
	return ver;
}

static unsigned int pinned_map_id(const char *path)
{
	LIBBPF_OPTS(bpf_obj_get_opts, ro, .file_flags = BPF_F_RDONLY);
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	int fd = bpf_obj_get_opts(path, &ro);

	if (fd < 0)
		return 0;
	if (bpf_map_get_info_by_fd(fd, &mi, &len))
		mi.id = 0;
	close(fd);
	return mi.id;
}

static bool kernel_has_bpf_lsm(void)
{
	char buf[256] = "";
	FILE *f;

	if (access("/sys/kernel/security/lsm", R_OK))
		mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	f = fopen("/sys/kernel/security/lsm", "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strstr(buf, "bpf") != NULL;
}

FIXTURE(guard) {
	char out[4096];
};

FIXTURE_SETUP(guard)
{
	struct json_object *st;
	const char *state, *reason;
	struct fragml_err err = {};

	if (!kernel_has_bpf_lsm())
		SKIP(return, "kernel lacks the BPF LSM (CONFIG_BPF_LSM with bpf in CONFIG_LSM / lsm=)");
	if (fragml_policy_supported(&err) != 1)
		SKIP(return, "kernel has no %s: boot the patched kernel", FRAGML_POLICY_KTYPE);
	_metadata->setup_completed = true;
	reset_fragml();
	/* two versions, so that a previous model map exists to swap in */
	ASSERT_EQ(0, sh("%s/fragml-mkmodel --hook thp_fault --const decline -o /tmp/g-decline.bin >/dev/null && "
			"%s/fragml-mkmodel --hook thp_fault --const compact -o /tmp/g-compact.bin >/dev/null",
			bin(), bin()));
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "%s/fragml-load /tmp/g-decline.bin", bin()))
		TH_LOG("%s", self->out);
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "%s/fragml-load /tmp/g-compact.bin", bin()))
		TH_LOG("%s", self->out);
	st = status_json();
	ASSERT_NE(NULL, st);
	state = guard_state(st, &reason);
	EXPECT_STREQ("active", state) TH_LOG("guard: %s (%s)", state, reason);
	json_object_put(st);
	ASSERT_TRUE(policy_is(FRAGML_POLICY_MODELS));
}

FIXTURE_TEARDOWN(guard)
{
	if (_metadata->setup_completed) {
		EXPECT_EQ(0, run(self->out, sizeof(self->out), "%s/fragml detach", bin()))
			TH_LOG("%s", self->out);
		EXPECT_NE(0, access(PIN, F_OK));
	}
}

/* bpftool rewrites a slot of the pinned model map: EPERM, the model is unchanged. */
TEST_F_TIMEOUT(guard, pinned_model_map_update, 300)
{
	unsigned int prev = pinned_map_id(PIN "/thp_fault_prev");
	long long before = refusals("map_open"), ver = thp_version();

	ASSERT_NE(0, prev);
	ASSERT_LT(0, ver);
	/* slot 1 = thp_fault: the previous model would decide again */
	EXPECT_NE(0, run(self->out, sizeof(self->out), "%s map update pinned %s/fragml_models key 1 0 0 0 value id %u",
			 bpftool(), PIN, prev));
	EXPECT_NE(NULL, strstr(self->out, "Operation not permitted")) TH_LOG("bpftool: %s", self->out);
	EXPECT_EQ(ver, thp_version());
	EXPECT_NE(0, run(self->out, sizeof(self->out), "%s map update pinned %s/fragml_info key 0 0 0 0 value %s",
			 bpftool(), PIN, "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0"));
	EXPECT_NE(NULL, strstr(self->out, "Operation not permitted")) TH_LOG("bpftool: %s", self->out);
	EXPECT_LE(before + 2, refusals("map_open"));
	EXPECT_TRUE(logged("map_open", "bpftool", 0));
	EXPECT_EQ(ver, thp_version());
	EXPECT_TRUE(policy_is(FRAGML_POLICY_MODELS));
}

/* The running model version, unpinned from bpftool's point of view: opened by id. */
TEST_F_TIMEOUT(guard, inner_map_by_id, 300)
{
	unsigned int id = pinned_map_id(PIN "/thp_fault_cur"), own;
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, ro, .open_flags = BPF_F_RDONLY);
	long long ver = thp_version();
	int fd, rofd, ret;
	struct bpf_insn prog[] = {
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_1, .src_reg = BPF_PSEUDO_MAP_FD },
		{ 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	ASSERT_NE(0, id);
	EXPECT_NE(0, run(self->out, sizeof(self->out), "%s map update id %u key 0 0 0 0 value 0 0 0 0",
			 bpftool(), id));
	EXPECT_NE(NULL, strstr(self->out, "Operation not permitted")) TH_LOG("bpftool: %s", self->out);
	EXPECT_TRUE(logged("map_open", "bpftool", id));
	EXPECT_NE(0, run(self->out, sizeof(self->out), "%s map delete id %u key 0 0 0 0", bpftool(), id));
	EXPECT_NE(NULL, strstr(self->out, "Operation not permitted")) TH_LOG("bpftool: %s", self->out);

	/* this process: no fd for writing, a read-only one is fine */
	fd = bpf_map_get_fd_by_id(id);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EPERM, errno);
	rofd = bpf_map_get_fd_by_id_opts(id, &ro);
	ASSERT_LE(0, rofd) TH_LOG("read-only open refused: %s", strerror(errno));
	/* ... but not to build a program on it (programs may write maps) */
	prog[0].imm = rofd;
	ret = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "guard_t", "GPL", prog, 4, NULL);
	EXPECT_GT(0, ret);
	EXPECT_EQ(EPERM, errno);
	EXPECT_TRUE(logged("prog_load", "guard_test", id));
	close(rofd);
	/* the same program on a map of its own loads: the guard picks fragml's maps only */
	own = bpf_map_create(BPF_MAP_TYPE_ARRAY, "guard_t", 4, 4, 1, NULL);
	ASSERT_LE(0, (int)own);
	prog[0].imm = (int)own;
	ret = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "guard_t", "GPL", prog, 4, NULL);
	EXPECT_LE(0, ret) TH_LOG("%s", strerror(errno));
	if (ret >= 0)
		close(ret);
	close((int)own);
	EXPECT_EQ(ver, thp_version());
}

/* Detach and update of the policy link and of the guard's own links. */
TEST_F_TIMEOUT(guard, links, 300)
{
	char path[256];
	int fd, ret;

	EXPECT_NE(0, run(self->out, sizeof(self->out), "%s link detach pinned %s", bpftool(),
			 FRAGML_POLICY_PIN));
	EXPECT_NE(NULL, strstr(self->out, "Operation not permitted")) TH_LOG("bpftool: %s", self->out);
	EXPECT_TRUE(policy_is(FRAGML_POLICY_MODELS));
	EXPECT_TRUE(logged("link", "bpftool", 0));

	fd = bpf_obj_get(FRAGML_POLICY_PIN);
	ASSERT_LE(0, fd);
	ret = bpf_link_update(fd, fd, NULL);
	EXPECT_EQ(-EPERM, ret);
	ret = bpf_link_detach(fd);
	EXPECT_EQ(-EPERM, ret);
	close(fd);
	EXPECT_TRUE(policy_is(FRAGML_POLICY_MODELS));

	snprintf(path, sizeof(path), "%s/guard/links/fragml_guard_bpf", PIN);
	fd = bpf_obj_get(path);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	EXPECT_EQ(-EPERM, bpf_link_detach(fd));
	close(fd);
	EXPECT_TRUE(logged("link", "guard_test", 0));
}

/* rm and mv of pins, rmdir, umount of the bpffs: all refused. */
TEST_F_TIMEOUT(guard, pins, 300)
{
	long long before = refusals("pin");

	EXPECT_NE(0, run(self->out, sizeof(self->out), "rm -f %s", FRAGML_POLICY_PIN));
	EXPECT_EQ(0, access(FRAGML_POLICY_PIN, F_OK));
	EXPECT_TRUE(logged("pin", "rm", 0));
	EXPECT_NE(0, run(self->out, sizeof(self->out), "rm -f %s/thp_fault_cur", PIN));
	EXPECT_NE(0, run(self->out, sizeof(self->out), "mv %s/thp_fault_cur %s/stolen", PIN, PIN));
	EXPECT_EQ(0, access(PIN "/thp_fault_cur", F_OK));
	EXPECT_NE(0, run(self->out, sizeof(self->out), "rm -rf %s/guard", PIN));
	EXPECT_EQ(0, access(PIN "/guard/links/fragml_guard_bpf", F_OK));
	EXPECT_LE(before + 4, refusals("pin"));
	EXPECT_NE(0, run(self->out, sizeof(self->out), "umount /sys/fs/bpf"));
	if (access(PIN, F_OK))	/* unmounted after all: remount for the rest */
		sh("mount -t bpf bpf /sys/fs/bpf");
	EXPECT_EQ(0, access(PIN "/fragml_models", F_OK));
	EXPECT_LE(1, refusals("umount"));
	EXPECT_TRUE(policy_is(FRAGML_POLICY_MODELS));
}

/* fragml's own tools: publish, roll back, status; `fragml guard off` restores ordinary access. */
TEST_F_TIMEOUT(guard, own_tools_and_off, 300)
{
	long long ver = thp_version();

	ASSERT_EQ(0, run(self->out, sizeof(self->out), "%s/fragml-load /tmp/g-decline.bin", bin()))
		TH_LOG("%s", self->out);
	EXPECT_EQ(ver + 1, thp_version());
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "%s/fragml-load --rollback thp_fault", bin()))
		TH_LOG("%s", self->out);
	EXPECT_EQ(ver, thp_version());
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "%s/fragml rollback thp_fault", bin()))
		TH_LOG("%s", self->out);
	EXPECT_EQ(ver + 1, thp_version());
	/* the new version is protected too, although it was published after the guard */
	EXPECT_NE(0, run(self->out, sizeof(self->out), "%s map update id %u key 0 0 0 0 value 0 0 0 0",
			 bpftool(), pinned_map_id(PIN "/thp_fault_cur")));
	EXPECT_NE(NULL, strstr(self->out, "Operation not permitted")) TH_LOG("bpftool: %s", self->out);
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "%s/fragml status", bin()));
	EXPECT_NE(NULL, strstr(self->out, "guard: active")) TH_LOG("%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "refused #")) TH_LOG("%s", self->out);
	printf("# %s", self->out);

	/* off: a root shell may do what it likes again */
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "%s/fragml guard off", bin())) TH_LOG("%s", self->out);
	ASSERT_EQ(0, run(self->out, sizeof(self->out), "%s/fragml guard", bin()));
	EXPECT_NE(NULL, strstr(self->out, "guard: unavailable (removed")) TH_LOG("%s", self->out);
	EXPECT_EQ(0, run(self->out, sizeof(self->out), "%s map update pinned %s/fragml_models key 1 0 0 0 value id %u",
			 bpftool(), PIN, pinned_map_id(PIN "/thp_fault_prev"))) TH_LOG("bpftool: %s", self->out);
	EXPECT_EQ(ver, thp_version());
	EXPECT_EQ(0, run(self->out, sizeof(self->out), "rm %s/thp_fault_prev", PIN)) TH_LOG("%s", self->out);
}

TEST_HARNESS_MAIN
