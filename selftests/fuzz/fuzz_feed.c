// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Feed records off the socket: the library's check and naming
 * (fragml_feed_check, fragml_feed_source, fragml_feed_class_name), then
 * alloc-hint's folding (docs/examples/alloc-hint.c, included with its main
 * renamed) of every 128-byte record of the input, as a consumer receives
 * them.  The first byte is the pid alloc-hint watches (0: the records' own).
 */
#include <string.h>

#define main alloc_hint_main
#include "../../docs/examples/alloc-hint.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fragml_feed_record r;
	struct fragml_err err = { 0 };
	static struct alloc_hint h;
	char name[64];
	size_t n;

	if (size < 1)
		return 0;
	memset(&h, 0, sizeof(h));
	h.pid = data[0];
	data++, size--;
	/* a short/odd datagram is refused, never read past its end */
	memset(&r, 0, sizeof(r));
	memcpy(&r, data, size < sizeof(r) ? size : sizeof(r));
	fragml_feed_check(&r, size, &err);
	for (; size >= sizeof(r); data += sizeof(r), size -= sizeof(r)) {
		memcpy(&r, data, sizeof(r));
		if (fragml_feed_check(&r, sizeof(r), &err)) {
			/* a consumer only sees checked records: make this one pass */
			r.magic = FRAGML_FEED_MAGIC;
			r.version = FRAGML_FEED_VERSION;
			r.size = FRAGML_FEED_RECORD_SIZE;
		}
		n = (size_t)fragml_feed_source(&r, name, sizeof(name));
		if (n >= sizeof(name) || strlen(name) != n)
			abort();
		fragml_feed_source(&r, name, 1 + (r.seq & 15));
		if (!fragml_feed_class_name(r.cls))
			abort();
		if (!h.pid)
			h.pid = r.tgid;
		alloc_hint_fold(&h, &r);
		alloc_hint_fragmenting(&h, 1.0);
	}
	return 0;
}
