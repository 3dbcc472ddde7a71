/* sasl - server side of SASL PLAIN (RFC 4616) and LOGIN, fed base64
 * responses, sans-I/O. See sasl.h. */
#include "dir/sasl.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/number.h"
#include "core/utf8.h"

/* RFC 4616 2: authzid, authcid and passwd are each at most 255 octets. */
#define SASL_FIELD_MAX 255
/* The longest PLAIN message: three fields and two NULs. */
#define SASL_MESSAGE_MAX (3 * SASL_FIELD_MAX + 2)
/* Its base64 form (4 characters per 3 octets, padded). */
#define SASL_RESPONSE_MAX (((SASL_MESSAGE_MAX + 2) / 3) * 4)

enum sasl_mech {
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
};

enum sasl_state {
	SASL_STATE_START,
	SASL_STATE_PLAIN_WAIT,      /* sent "", waiting for the PLAIN message */
	SASL_STATE_LOGIN_USER,      /* sent "Username:" */
	SASL_STATE_LOGIN_PASSWORD,  /* sent "Password:" */
	SASL_STATE_FINISHED,        /* DONE, ERROR or CANCELLED was returned */
};

struct sasl {
	enum sasl_mech mech;
	enum sasl_state state;
	char authzid[SASL_FIELD_MAX + 1];
	char authcid[SASL_FIELD_MAX + 1];
	char password[SASL_FIELD_MAX + 1];
	unsigned char decoded[SASL_MESSAGE_MAX + 1];
};

static const char sasl_login_user_challenge[] = "VXNlcm5hbWU6";      /* "Username:" */
static const char sasl_login_password_challenge[] = "UGFzc3dvcmQ6";  /* "Password:" */

const char *sasl_mechanisms(void)
{
	return "PLAIN LOGIN";
}

struct sasl *sasl_begin(const char *mech)
{
	struct sasl *sasl;
	enum sasl_mech m;

	if (mech == NULL)
		return NULL;
	if (strcasecmp(mech, "PLAIN") == 0)
		m = SASL_MECH_PLAIN;
	else if (strcasecmp(mech, "LOGIN") == 0)
		m = SASL_MECH_LOGIN;
	else
		return NULL;
	sasl = calloc(1, sizeof(*sasl));
	if (sasl == NULL)
		return NULL;
	sasl->mech = m;
	sasl->state = SASL_STATE_START;
	return sasl;
}

void sasl_free(struct sasl **saslp)
{
	struct sasl *sasl = *saslp;

	if (sasl == NULL)
		return;
	OPENSSL_cleanse(sasl, sizeof(*sasl));
	free(sasl);
	*saslp = NULL;
}

const char *sasl_authcid(const struct sasl *sasl)
{
	return sasl->authcid;
}

const char *sasl_authzid(const struct sasl *sasl)
{
	return sasl->authzid;
}

const char *sasl_password(const struct sasl *sasl)
{
	return sasl->password;
}

/* Strict RFC 4648 4 decoding: length a multiple of 4, padding only at the
 * end, no other characters (no whitespace), and the unused bits of the last
 * quantum zero (3.5: canonical encoding). Returns the decoded length or -1. */
static long sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t outsize)
{
	size_t o = 0;

	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		uint32_t q;

		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0)
				return -1;   /* data after '=' */
			v[k] = number_base64_digit((unsigned char)in[i + k]);
			if (v[k] < 0)
				return -1;
		}
		q = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		if ((pad == 1 && (q & 0xff) != 0) || (pad == 2 && (q & 0xffff) != 0))
			return -1;   /* non-canonical: stray bits before the padding */
		if (o + (size_t)(3 - pad) > outsize)
			return -1;
		out[o++] = (unsigned char)(q >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(q >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)q;
	}
	return (long)o;
}

/* Copy one field into dst after checking it: min..255 octets of UTF-8. */
static bool sasl_field(char *dst, const unsigned char *src, size_t len, size_t min)
{
	if (len < min || len > SASL_FIELD_MAX || !utf8_valid(src, len))
		return false;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return true;
}

/* RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd */
static enum sasl_status sasl_plain(struct sasl *sasl, size_t len, const char **error_r)
{
	const unsigned char *msg = sasl->decoded;
	const unsigned char *nul1 = memchr(msg, '\0', len);
	const unsigned char *nul2;
	const unsigned char *end = msg + len;

	if (nul1 == NULL) {
		*error_r = "PLAIN message without NUL separators";
		return SASL_STATUS_ERROR;
	}
	nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1));
	if (nul2 == NULL) {
		*error_r = "PLAIN message with one NUL separator";
		return SASL_STATUS_ERROR;
	}
	if (!sasl_field(sasl->authzid, msg, (size_t)(nul1 - msg), 0) ||
	    !sasl_field(sasl->authcid, nul1 + 1, (size_t)(nul2 - nul1 - 1), 1) ||
	    !sasl_field(sasl->password, nul2 + 1, (size_t)(end - nul2 - 1), 1)) {
		*error_r = "PLAIN field empty, too long, not UTF-8 or with a NUL";
		return SASL_STATUS_ERROR;
	}
	return SASL_STATUS_DONE;
}

enum sasl_status sasl_step(struct sasl *sasl, const char *response, size_t len,
			   const char **challenge_r, const char **error_r)
{
	bool initial = sasl->state == SASL_STATE_START;
	enum sasl_status status;
	long n;

	*challenge_r = "";
	*error_r = NULL;
	if (sasl->state == SASL_STATE_FINISHED) {
		*error_r = "SASL exchange already finished";
		return SASL_STATUS_ERROR;
	}
	/* No initial response: ask for the first one. ("=" is not that: it is
	 * an initial response of zero octets, RFC 5034 4 / RFC 4954 4, which
	 * PLAIN and LOGIN both refuse as malformed below.) */
	if (initial && response == NULL) {
		if (sasl->mech == SASL_MECH_PLAIN) {
			sasl->state = SASL_STATE_PLAIN_WAIT;
			*challenge_r = "";
		} else {
			sasl->state = SASL_STATE_LOGIN_USER;
			*challenge_r = sasl_login_user_challenge;
		}
		return SASL_STATUS_CONTINUE;
	}
	if (response == NULL) {
		*error_r = "missing SASL response";
		sasl->state = SASL_STATE_FINISHED;
		return SASL_STATUS_ERROR;
	}
	/* RFC 4422 3.5: "*" aborts the exchange. */
	if (len == 1 && response[0] == '*') {
		sasl->state = SASL_STATE_FINISHED;
		return SASL_STATUS_CANCELLED;
	}
	sasl->state = SASL_STATE_FINISHED;   /* until proven otherwise */
	if (len > SASL_RESPONSE_MAX) {
		*error_r = "SASL response too long";
		return SASL_STATUS_ERROR;
	}
	if (initial && len == 1 && response[0] == '=')
		n = 0;
	else
		n = sasl_b64_decode(response, len, sasl->decoded, SASL_MESSAGE_MAX);
	if (n < 0) {
		*error_r = "SASL response is not valid base64";
		return SASL_STATUS_ERROR;
	}

	if (sasl->mech == SASL_MECH_PLAIN) {
		status = sasl_plain(sasl, (size_t)n, error_r);
	} else if (sasl->authcid[0] == '\0') {
		/* LOGIN: the first response (or the initial one, as clients
		 * send it) is the user name. */
		if (sasl_field(sasl->authcid, sasl->decoded, (size_t)n, 1)) {
			sasl->state = SASL_STATE_LOGIN_PASSWORD;
			*challenge_r = sasl_login_password_challenge;
			status = SASL_STATUS_CONTINUE;
		} else {
			*error_r = "LOGIN user name empty, too long or not UTF-8";
			status = SASL_STATUS_ERROR;
		}
	} else if (sasl_field(sasl->password, sasl->decoded, (size_t)n, 1)) {
		status = SASL_STATUS_DONE;
	} else {
		*error_r = "LOGIN password empty, too long or not UTF-8";
		status = SASL_STATUS_ERROR;
	}
	OPENSSL_cleanse(sasl->decoded, sizeof(sasl->decoded));
	return status;
}
