// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Identification feed, publisher side (fragml_feed.h, docs/feed.md).
 *
 * One event loop: the ring buffer of bpf/fragml_feed.bpf.c (the tracking core
 * of bpf/fragml_track.bpf.h in its feed mode), the listening
 * socket and the subscribers share one epoll.  Records go out with
 * MSG_DONTWAIT: a full subscriber queue drops that subscriber's copy (counted
 * in its next record), so a stalled consumer never stalls the others.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fragml_feed.h"
#include "fragml_identify.h"
#include "fragml_load.h"
#include "fragml_collect_events.h"	/* FRAGML_STAT_LOST */
#include "fragml_feed_events.h"
#include "libbpf_log.h"
#include "fragml_feed.skel.h"
#include "mono_ns.h"

#define FEED_DEFAULT_CLIENTS	64
#define FEED_SNDBUF		(1 << 20)

struct feed_client {
	int fd;
	uint32_t dropped;
};

struct fragml_feed_server {
	struct fragml_feed_bpf *skel;
	struct ring_buffer *rb;
	int models_fd;
	int listen_fd, epoll_fd, stop_fd;
	unsigned int max_clients, n_clients;
	struct feed_client *clients;
	uint64_t seq;
	struct fragml_feed_server_stats st;
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char dir[PATH_MAX];
};

/* Version of the lifetime model in force (0: none), read from the pinned slot. */
static uint32_t current_lifetime_version(struct fragml_feed_server *s)
{
	uint32_t hook = 0, zero = 0, inner_id = 0, version = 0;
	int inner_fd;

	if (s->models_fd < 0 || bpf_map_lookup_elem(s->models_fd, &hook, &inner_id) || !inner_id)
		return 0;
	inner_fd = bpf_map_get_fd_by_id(inner_id);
	if (inner_fd < 0)
		return 0;
	/* struct fragml_blob starts with its version (model/fragml_abi.h) */
	{
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);
		void *blob;

		if (!bpf_map_get_info_by_fd(inner_fd, &info, &len) && info.value_size >= 4 &&
		    (blob = calloc(1, info.value_size))) {
			if (!bpf_map_lookup_elem(inner_fd, &zero, blob))
				memcpy(&version, blob, sizeof(version));
			free(blob);
		}
	}
	close(inner_fd);
	return version;
}

static void drop_client(struct fragml_feed_server *s, unsigned int i)
{
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, s->clients[i].fd, NULL);
	close(s->clients[i].fd);
	s->clients[i] = s->clients[--s->n_clients];
	s->st.clients = s->n_clients;
}

/* Send one record to every subscriber (dropped: copied in per subscriber). */
static void fan_out(struct fragml_feed_server *s, struct fragml_feed_record *r)
{
	for (unsigned int i = 0; i < s->n_clients;) {
		struct feed_client *c = &s->clients[i];

		r->dropped = c->dropped;
		if (send(c->fd, r, sizeof(*r), MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof(*r)) {
			i++;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
			c->dropped++;
			s->st.dropped++;
			i++;
			continue;
		}
		drop_client(s, i);	/* EPIPE, ECONNRESET: gone */
	}
}

static void fill_control(struct fragml_feed_server *s, struct fragml_feed_record *r, uint8_t kind)
{
	memset(r, 0, sizeof(*r));
	r->magic = FRAGML_FEED_MAGIC;
	r->version = FRAGML_FEED_VERSION;
	r->size = FRAGML_FEED_RECORD_SIZE;
	r->kind = kind;
	r->seq = s->seq;	/* last ALLOC sequence number sent */
	r->ts_ns = loader_mono_ns();
	r->model_version = current_lifetime_version(s);
	r->weight = 1u << (s->skel->rodata->track_sample_shift & 31);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct fragml_feed_server *s = ctx;
	const struct fragml_feed_ev *e = data;
	struct fragml_feed_record r;

	if (len < sizeof(*e))
		return 0;
	memset(&r, 0, sizeof(r));
	r.magic = FRAGML_FEED_MAGIC;
	r.version = FRAGML_FEED_VERSION;
	r.size = FRAGML_FEED_RECORD_SIZE;
	r.kind = FRAGML_FEED_ALLOC;
	r.hook = 0;	/* FRAGML_HOOK_LIFETIME */
	r.cls = e->cls;
	r.action = (uint8_t)e->action;
	r.flags = e->flags;
	r.order = e->order;
	r.mt = e->mt;
	r.block_mt = e->block_mt;
	r.seq = ++s->seq;
	r.ts_ns = e->ts;
	r.pfn = e->pfn;
	r.pageblock = e->pfn >> 9;
	r.cgroup = e->cgroup;
	r.tgid = e->tgid;
	r.model_version = e->model_version;
	r.score = e->score;
	r.weight = e->weight;
	memcpy(r.comm, e->comm, sizeof(r.comm));
	memcpy(r.slab, e->slab, sizeof(r.slab));
	r.comm[sizeof(r.comm) - 1] = 0;
	r.slab[sizeof(r.slab) - 1] = 0;
	s->st.published++;
	fan_out(s, &r);
	return 0;
}

static int accept_client(struct fragml_feed_server *s)
{
	struct epoll_event ev = { .events = EPOLLRDHUP | EPOLLHUP };
	struct fragml_feed_record hello;
	int fd, sndbuf = FEED_SNDBUF;

	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return 0;
	if (s->n_clients >= s->max_clients) {
		close(fd);	/* the consumer sees EOF before HELLO */
		return 0;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	fill_control(s, &hello, FRAGML_FEED_HELLO);
	if (send(fd, &hello, sizeof(hello), MSG_DONTWAIT | MSG_NOSIGNAL) != sizeof(hello)) {
		close(fd);
		return 0;
	}
	ev.data.fd = fd;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
	s->clients[s->n_clients].fd = fd;
	s->clients[s->n_clients].dropped = 0;
	s->n_clients++;
	s->st.clients = s->n_clients;
	s->st.clients_total++;
	return 0;
}

/* Bind the socket; refuse when a live publisher answers there, replace a stale one. */
static int listen_socket(struct fragml_feed_server *s, unsigned int mode, struct fragml_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char parent[sizeof(sa.sun_path)], *slash;
	mode_t old_mask;
	int fd, ret;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->sock_path);
	snprintf(parent, sizeof(parent), "%s", s->sock_path);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = 0;
		/* root only, unless --mode lets others connect: then they may pass through */
		if (mkdir(parent, mode & 0077 ? 0711 : 0700) && errno != EEXIST)
			return fragml_err_set(err, -errno, "%s: cannot create the socket directory: %s",
					      parent, strerror(errno));
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fragml_err_set(err, -errno, "feed: socket: %s", strerror(errno));
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return fragml_err_set(err, -EADDRINUSE,
				      "%s: another feed publisher is serving here: stop it or pick another --socket",
				      s->sock_path);
	}
	close(fd);
	if (unlink(s->sock_path) && errno != ENOENT)
		return fragml_err_set(err, -errno, "%s: cannot remove the stale socket: %s",
				      s->sock_path, strerror(errno));
	s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0)
		return fragml_err_set(err, -errno, "feed: socket: %s", strerror(errno));
	/* Created owner-only (no window in which others could connect), then given
	 * `mode`.  umask is per process: the publisher binds from one thread. */
	old_mask = umask(0177);
	ret = bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (ret || listen(s->listen_fd, 64))
		return fragml_err_set(err, -errno, "%s: cannot listen: %s", s->sock_path,
				      strerror(errno));
	if (chmod(s->sock_path, mode))
		return fragml_err_set(err, -errno, "%s: chmod %o: %s", s->sock_path, mode,
				      strerror(errno));
	return 0;
}

/*
 * The tracking core in feed mode: report 1 in 2^sample_shift allocations (and
 * every fallback), never the publisher's own; follow the observe programs'
 * share of them to their free (task_long_ppk) in maps sized to the machine;
 * no identification maps (fragml top reads the observe programs').
 */
static void size_feed(struct fragml_feed_bpf *skel, const struct fragml_feed_server_opts *o)
{
	struct fragml_track_sizes ts;
	struct fragml_kaddrs ka;

	fragml_track_sizes(fragml_ram_pages(), 0, &ts);
	if (!fragml_kaddrs(&ka, NULL)) {	/* without it: no site identity */
		skel->rodata->fragml_ksym_text = ka.text;
		skel->rodata->fragml_ksym_alloc_entry = ka.alloc_entry;
	}
	skel->rodata->track_sample_shift = o->sample_shift;
	skel->rodata->exclude_tgid = (uint32_t)getpid();
	skel->rodata->want_ident = 0;
	skel->rodata->filter_mask = ts.filter_slots - 1;
	bpf_map__set_max_entries(skel->maps.fragml_live, ts.live);
	bpf_map__set_max_entries(skel->maps.fragml_track_filter, ts.filter_slots);
	bpf_map__set_max_entries(skel->maps.fragml_task_state, ts.tasks);
	bpf_map__set_autocreate(skel->maps.fragml_src, false);
	bpf_map__set_autocreate(skel->maps.fragml_src_slab, false);
	bpf_map__set_autocreate(skel->maps.fragml_blocks, false);
	bpf_map__set_max_entries(skel->maps.fragml_events,
				 (o->ringbuf_kb ? o->ringbuf_kb : 4096) * 1024u);
}

int fragml_feed_server_open(struct fragml_feed_server **sp, const struct fragml_feed_server_opts *o,
			    struct fragml_err *err)
{
	static const struct fragml_feed_server_opts defaults;
	struct epoll_event ev = { .events = EPOLLIN };
	struct fragml_feed_server *s;
	const char *bpffs;
	char models[PATH_MAX + 16];
	int ret;

	*sp = NULL;
	o = o ? o : &defaults;
	s = calloc(1, sizeof(*s));
	if (!s)
		return fragml_err_set(err, -ENOMEM, "out of memory");
	s->listen_fd = s->epoll_fd = s->stop_fd = s->models_fd = -1;
	s->max_clients = o->max_clients ? o->max_clients : FEED_DEFAULT_CLIENTS;
	s->clients = calloc(s->max_clients, sizeof(*s->clients));
	if (!s->clients) {
		ret = fragml_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (strlen(o->sock_path ? o->sock_path : FRAGML_FEED_DEFAULT_SOCK) >= sizeof(s->sock_path)) {
		ret = fragml_err_set(err, -ENAMETOOLONG, "%s: socket path longer than %zu bytes",
				     o->sock_path, sizeof(s->sock_path) - 1);
		goto fail;
	}
	snprintf(s->sock_path, sizeof(s->sock_path), "%s",
		 o->sock_path ? o->sock_path : FRAGML_FEED_DEFAULT_SOCK);
	bpffs = o->bpffs ? o->bpffs : FRAGML_DEFAULT_BPFFS;
	snprintf(s->dir, sizeof(s->dir), "%s/fragml", bpffs);
	snprintf(models, sizeof(models), "%s/fragml_models", s->dir);
	if (access(models, F_OK)) {
		ret = fragml_err_set(err, -ENOENT,
				     "%s: no fragml models pinned here: load a lifetime model with 'fragml-load MODEL.bin' first",
				     s->dir);
		goto fail;
	}
	if (o->sample_shift > 20) {
		ret = fragml_err_set(err, -EINVAL, "feed: sample shift %u out of range (0..20)",
				     o->sample_shift);
		goto fail;
	}

	libbpf_set_print(loader_libbpf_print);
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = s->dir);
	s->skel = fragml_feed_bpf__open_opts(&oo);
	if (!s->skel) {
		ret = fragml_err_set(err, -errno, "feed programs: open failed: %s", strerror(errno));
		goto fail;
	}
	size_feed(s->skel, o);
	ret = fragml_feed_bpf__load(s->skel);
	if (ret) {
		fragml_err_set(err, ret,
			       "feed programs: the kernel refused them (%s): the pinned maps in %s may come from another fragml build ('fragml detach' and load again), or tracepoints kmem/mm_page_alloc* are missing",
			       strerror(-ret), s->dir);
		goto fail;
	}
	ret = fragml_feed_bpf__attach(s->skel);
	if (ret) {
		fragml_err_set(err, ret,
			       "feed programs: attach failed (%s): classic tracepoints need tracefs at /sys/kernel/tracing (mount -t tracefs tracefs /sys/kernel/tracing)",
			       strerror(-ret));
		goto fail;
	}
	s->models_fd = bpf_map__fd(s->skel->maps.fragml_models);
	{
		/* fragml-load does not know the call sites: fill them on first use,
		 * as `fragml top` does (the table starts with its entry count) */
		size_t vsz = bpf_map__value_size(s->skel->maps.fragml_sites);
		int sites_fd = bpf_map__fd(s->skel->maps.fragml_sites);
		uint32_t zero = 0, *tb = calloc(1, vsz);

		if (tb && !bpf_map_lookup_elem(sites_fd, &zero, tb) && !tb[0])
			fragml_sites_fill(sites_fd, NULL);
		free(tb);
	}
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.fragml_events), on_event, s, NULL);
	if (!s->rb) {
		ret = fragml_err_set(err, -errno, "feed: ring buffer: %s", strerror(errno));
		goto fail;
	}
	ret = listen_socket(s, o->sock_mode ? o->sock_mode : 0600, err);
	if (ret)
		goto fail;
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->epoll_fd < 0 || s->stop_fd < 0) {
		ret = fragml_err_set(err, -errno, "feed: epoll/eventfd: %s", strerror(errno));
		goto fail;
	}
	ev.data.fd = s->listen_fd;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev);
	ev.data.fd = s->stop_fd;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->stop_fd, &ev);
	ev.data.fd = ring_buffer__epoll_fd(s->rb);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	*sp = s;
	return 0;
fail:
	fragml_feed_server_close(s);
	return ret;
}

static uint64_t kernel_lost(struct fragml_feed_server *s)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(s->skel->maps.fragml_stats);
	uint64_t *v, sum = 0;
	uint32_t key = FRAGML_STAT_LOST;

	if (ncpu <= 0 || !(v = calloc((size_t)ncpu, sizeof(*v))))
		return 0;
	if (!bpf_map_lookup_elem(fd, &key, v))
		for (int i = 0; i < ncpu; i++)
			sum += v[i];
	free(v);
	return sum;
}

int fragml_feed_server_run(struct fragml_feed_server *s, double duration_s,
			   struct fragml_feed_server_stats *st, struct fragml_err *err)
{
	uint64_t start = loader_mono_ns(), last_beat = start, seq_at_beat = 0;
	uint64_t end = duration_s > 0 ? start + (uint64_t)(duration_s * 1e9) : 0;
	int ret = 0;

	for (;;) {
		struct epoll_event evs[32];
		uint64_t now = loader_mono_ns();
		int n, timeout = 1000;
		bool stop = false;

		if (end) {
			if (now >= end)
				break;
			if ((end - now) / 1000000 < (uint64_t)timeout)
				timeout = (int)((end - now) / 1000000) + 1;
		}
		n = epoll_wait(s->epoll_fd, evs, 32, timeout);
		if (n < 0 && errno != EINTR) {
			ret = fragml_err_set(err, -errno, "feed: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == s->stop_fd) {
				stop = true;
			} else if (fd == s->listen_fd) {
				accept_client(s);
			} else if (fd == ring_buffer__epoll_fd(s->rb)) {
				ret = ring_buffer__consume(s->rb);
				if (ret < 0 && ret != -EINTR) {
					fragml_err_set(err, ret, "feed: ring buffer: %s", strerror(-ret));
					goto out;
				}
				ret = 0;
			} else {
				for (unsigned int c = 0; c < s->n_clients; c++)
					if (s->clients[c].fd == fd) {
						drop_client(s, c);
						break;
					}
			}
		}
		if (stop)
			break;
		now = loader_mono_ns();
		if (now - last_beat >= 1000000000ull) {
			struct fragml_feed_record beat;

			if (s->seq == seq_at_beat) {	/* quiet second: say we are alive */
				fill_control(s, &beat, FRAGML_FEED_HEARTBEAT);
				fan_out(s, &beat);
			}
			seq_at_beat = s->seq;
			last_beat = now;
		}
	}
out:
	ring_buffer__consume(s->rb);
	s->st.kernel_lost = kernel_lost(s);
	if (st)
		*st = s->st;
	return ret;
}

void fragml_feed_server_stop(struct fragml_feed_server *s)
{
	uint64_t one = 1;

	if (s && s->stop_fd >= 0 && write(s->stop_fd, &one, sizeof(one)) < 0)
		return;
}

void fragml_feed_server_close(struct fragml_feed_server *s)
{
	if (!s)
		return;
	while (s->n_clients)
		drop_client(s, s->n_clients - 1);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		unlink(s->sock_path);
	}
	ring_buffer__free(s->rb);
	fragml_feed_bpf__destroy(s->skel);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	free(s->clients);
	free(s);
}
