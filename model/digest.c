// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* SHA-256 of a model (OpenSSL libcrypto): the identity `status` and the logs show. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "fragml_model.h"

int fragml_sha256_hex(const void *buf, size_t len, char hex[FRAGML_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) || n != 32) {
		hex[0] = '\0';
		return -EIO;
	}
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int fragml_model_sha256(const struct fragml_model *m, char hex[FRAGML_SHA256_HEX],
			struct fragml_err *err)
{
	struct fragml_model *copy = malloc(sizeof(*copy));
	size_t cap = fragml_model_file_size(m);
	uint8_t *buf = malloc(cap ? cap : 1);
	int len, ret = 0;

	hex[0] = '\0';
	if (!copy || !buf) {
		ret = fragml_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* The format has one byte sequence per model (parse refuses every
	 * alternative), so this is the SHA-256 of the file it was read from. */
	*copy = *m;
	len = fragml_model_serialize(copy, buf, cap, err);
	if (len < 0) {
		ret = len;
		goto out;
	}
	if (fragml_sha256_hex(buf, (size_t)len, hex))
		ret = fragml_err_set(err, -EIO, "model: SHA-256 failed (libcrypto)");
out:
	free(copy);
	free(buf);
	return ret;
}
