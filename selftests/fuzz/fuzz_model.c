// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * model.bin parser (fragml_model_parse): any input is refused with an error or
 * parsed into a model that serializes back to the same bytes, evaluates and
 * explains without leaving its arrays, with explain agreeing with eval.
 */
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "fragml_model.h"
#include "fuzz_common.h"

static void check_one(const uint8_t *data, size_t size);

/* The input as is, then with its crc32 made right (docs/model-format.md: over
 * the file with the crc field zeroed), so mutations reach the validation
 * behind the checksum. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t fixed[FRAGML_HDR_SIZE + 4 * FRAGML_MAX_TREES + 8 * FRAGML_MAX_NODES + 64];
	uLong c;

	check_one(data, size);
	if (size < FRAGML_HDR_SIZE || size > sizeof(fixed))
		return 0;
	memcpy(fixed, data, size);
	memset(fixed + 20, 0, 4);
	c = crc32(crc32(0L, Z_NULL, 0), fixed, (uInt)size);
	for (int i = 0; i < 4; i++)
		fixed[20 + i] = (uint8_t)(c >> (8 * i));
	check_one(fixed, size);
	return 0;
}

static void check_one(const uint8_t *data, size_t size)
{
	static struct fragml_model m;
	static struct fragml_explain x;
	static uint8_t out[FRAGML_HDR_SIZE + 4 * FRAGML_MAX_TREES + 8 * FRAGML_MAX_NODES];
	struct fragml_err err = { 0 };
	struct fragml_eval_out ref;
	int32_t feat[FRAGML_MAX_FEATURES];
	int n;

	if (fragml_model_parse(&m, data, size, "fuzz", &err)) {
		if (!err.msg[0] || strchr(err.msg, '\n'))
			abort();	/* every refusal is one non-empty line */
		return;
	}
	n = fragml_model_serialize(&m, out, sizeof(out), &err);
	if (n < 0 || (size_t)n != size || memcmp(out, data, size))
		abort();	/* one byte sequence per model */
	/* vectors: all missing, then thresholds taken from the nodes themselves */
	for (int pass = 0; pass < 3; pass++) {
		for (unsigned int f = 0; f < FRAGML_MAX_FEATURES; f++)
			feat[f] = pass == 0 ? FRAGML_MISSING : pass == 1 ? 0 : -1;
		for (unsigned int i = 0; pass && i < m.n_nodes; i++)
			if (!(m.nodes[i].info & FRAGML_NODE_LEAF))
				feat[m.nodes[i].info & FRAGML_NODE_FEAT_MASK] =
					m.nodes[i].value - (pass == 2 && m.nodes[i].value > INT32_MIN);
		fragml_model_eval(&m, feat, &ref);
		fragml_model_explain(&m, feat, &x);
		if (x.action != ref.action || x.score != ref.score)
			abort();
	}
}
