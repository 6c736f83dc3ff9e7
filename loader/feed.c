// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Identification feed, consumer side (fragml_feed.h, docs/feed.md). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fragml_dataset.h"
#include "fragml_feed.h"

struct fragml_feed {
	int fd;
	uint32_t model_version;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

int fragml_feed_check(const struct fragml_feed_record *rec, size_t len, struct fragml_err *err)
{
	if (len < 8 || rec->magic != FRAGML_FEED_MAGIC)
		return fragml_err_set(err, -EPROTO,
				      "feed: a record of %zu bytes without the feed magic: not a fragml feed socket",
				      len);
	if (rec->version != FRAGML_FEED_VERSION || rec->size != FRAGML_FEED_RECORD_SIZE ||
	    len != FRAGML_FEED_RECORD_SIZE)
		return fragml_err_set(err, -EPROTO,
				      "feed: record layout version %u (%u bytes), this library reads version %d (%d bytes): rebuild the consumer against the publisher's libfragml",
				      rec->version, rec->size, FRAGML_FEED_VERSION,
				      FRAGML_FEED_RECORD_SIZE);
	return 0;
}

int fragml_feed_connect(struct fragml_feed **fp, const char *path, struct fragml_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fragml_feed_record hello;
	struct fragml_feed *f;
	int ret;

	*fp = NULL;
	path = path ? path : FRAGML_FEED_DEFAULT_SOCK;
	if (strlen(path) >= sizeof(sa.sun_path))
		return fragml_err_set(err, -ENAMETOOLONG, "%s: socket path longer than %zu bytes",
				      path, sizeof(sa.sun_path) - 1);
	f = calloc(1, sizeof(*f));
	if (!f)
		return fragml_err_set(err, -ENOMEM, "out of memory");
	snprintf(f->path, sizeof(f->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	f->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (f->fd < 0) {
		ret = fragml_err_set(err, -errno, "feed: socket: %s", strerror(errno));
		goto fail;
	}
	if (connect(f->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		fragml_err_set(err, ret, "%s: cannot connect (%s): is the publisher running? start it with 'fragml feed serve'",
			       path, strerror(errno));
		goto fail;
	}
	ret = fragml_feed_next(f, &hello, 2000, err);
	if (ret == 0)
		ret = fragml_err_set(err, -ETIMEDOUT, "%s: no HELLO from the publisher within 2 s", path);
	if (ret < 0)
		goto fail;
	if (hello.kind != FRAGML_FEED_HELLO) {
		ret = fragml_err_set(err, -EPROTO, "%s: first record is of kind %u, not HELLO", path,
				     hello.kind);
		goto fail;
	}
	*fp = f;
	return 0;
fail:
	fragml_feed_close(f);
	return ret;
}

int fragml_feed_next(struct fragml_feed *f, struct fragml_feed_record *rec, int timeout_ms,
		     struct fragml_err *err)
{
	struct pollfd pfd = { .fd = f->fd, .events = POLLIN };
	ssize_t n;
	int ret;

	for (;;) {
		ret = poll(&pfd, 1, timeout_ms);
		if (ret < 0 && errno == EINTR)
			return 0;	/* the caller's signal handler decides */
		if (ret < 0)
			return fragml_err_set(err, -errno, "%s: poll: %s", f->path, strerror(errno));
		if (ret == 0)
			return 0;
		n = recv(f->fd, rec, sizeof(*rec), MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return fragml_err_set(err, -errno, "%s: recv: %s", f->path, strerror(errno));
		if (n == 0)
			return fragml_err_set(err, -EPIPE, "%s: the publisher closed the feed", f->path);
		ret = fragml_feed_check(rec, (size_t)n, err);
		if (ret)
			return ret;
		if (rec->kind != FRAGML_FEED_ALLOC || rec->model_version)
			f->model_version = rec->model_version;
		return 1;
	}
}

int fragml_feed_fd(const struct fragml_feed *f)
{
	return f->fd;
}

uint32_t fragml_feed_model_version(const struct fragml_feed *f)
{
	return f->model_version;
}

void fragml_feed_close(struct fragml_feed *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

static size_t bounded_len(const char *s, size_t cap)
{
	const char *z = memchr(s, 0, cap);

	return z ? (size_t)(z - s) : cap;
}

int fragml_feed_source(const struct fragml_feed_record *rec, char *buf, size_t cap)
{
	int comm_len = (int)bounded_len(rec->comm, sizeof(rec->comm));
	int slab_len = (int)bounded_len(rec->slab, sizeof(rec->slab));
	int n;

	if (!cap)
		return 0;
	if (rec->slab[0])
		n = snprintf(buf, cap, "slab:%.*s", slab_len, rec->slab);
	else if (!rec->tgid || (rec->flags & FRAGML_FEED_F_KTHREAD))
		n = snprintf(buf, cap, "kthread:%.*s", comm_len, rec->comm);
	else
		n = snprintf(buf, cap, "%.*s:%u", comm_len, rec->comm, rec->tgid);
	return n < (int)cap ? n : (int)cap - 1;
}

const char *fragml_feed_class_name(unsigned int cls)
{
	const char *name = fragml_class_name(cls);

	return name ? name : "?";
}
