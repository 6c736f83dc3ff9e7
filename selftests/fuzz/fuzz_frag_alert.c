// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * frag-alert's record handling (docs/examples/frag-alert.c, included with its
 * main renamed): every 128-byte record of the input, checked as the library
 * does, folded into the per-source state and the alert rule.  Its state
 * (256 sources) lives across inputs, as it does in a long-running consumer.
 */
#include <string.h>

#define main frag_alert_main
#include "../../docs/examples/frag-alert.c"
#undef main

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (!freopen("/dev/null", "w", stdout))	/* alerts print a line each */
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fragml_feed_record r;
	double window, threshold;

	if (size < 2)
		return 0;
	window = 0.001 + data[0] / 16.0;	/* the ranges main accepts */
	threshold = 0.1 + data[1];
	data += 2, size -= 2;
	for (; size >= sizeof(r); data += sizeof(r), size -= sizeof(r)) {
		memcpy(&r, data, sizeof(r));
		r.magic = FRAGML_FEED_MAGIC;
		r.version = FRAGML_FEED_VERSION;
		r.size = FRAGML_FEED_RECORD_SIZE;
		alert_on_record(&r, window, threshold);
	}
	return 0;
}
