/* password - new hashes are {ARGON2ID} (libargon2); imported Dovecot hashes
 * {SHA512-CRYPT} and {BLF-CRYPT} are verified with crypt_r(); the ceilings
 * on what a stored hash may cost. See password.h. */
#include "dir/password.h"

#include <argon2.h>
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/config.h"
#include "core/utf8.h"

/* Argon2id cost for new hashes: 3 passes over 32 MiB, one lane. About 40 ms
 * on the 2-core build machine, above OWASP's floor (m=19 MiB, t=2). Verifying
 * an old hash uses the parameters stored in it. */
#define PASSWORD_ARGON2_T 3
#define PASSWORD_ARGON2_M 32768
#define PASSWORD_ARGON2_P 1
#define PASSWORD_SALT_LEN 16
#define PASSWORD_HASH_LEN 32

/* No stored hash of any accepted scheme comes near this. */
#define PASSWORD_STORED_MAX 512
/* argon2 lanes: not a cost of its own (the memory is shared), but bounded. */
#define PASSWORD_ARGON2_P_MAX 16u
/* SHA512-CRYPT without rounds= (crypt(3)'s default). */
#define PASSWORD_SHA512_ROUNDS_DEFAULT 5000ul

/* The ceilings on a stored hash's cost (password_configure); the defaults
 * are those of the [auth] keys, near what Dovecot installations use. */
static unsigned password_bcrypt_cost_max = 12;
static unsigned long password_sha512_rounds_max = 100000;
static unsigned long password_argon2_m_max = 256u * 1024u;   /* KiB */
static unsigned password_argon2_t_max = 10;

/* *error_r for the messages that carry figures. */
static _Thread_local char password_why[192];
/* Longer passwords are refused rather than hashed (bounds the work). */
#define PASSWORD_MAX 1024

void password_configure(const struct config *cfg)
{
	password_bcrypt_cost_max = cfg != NULL ? cfg->auth.bcrypt_cost_max : 12;
	password_sha512_rounds_max = cfg != NULL ? cfg->auth.sha512_rounds_max : 100000;
	password_argon2_m_max = cfg != NULL ? (unsigned long)(cfg->auth.argon2_memory_max / 1024) :
				256u * 1024u;
	password_argon2_t_max = cfg != NULL ? cfg->auth.argon2_passes_max : 10;
}

enum password_scheme {
	PASSWORD_SCHEME_ARGON2ID,
	PASSWORD_SCHEME_ARGON2I,
	PASSWORD_SCHEME_SHA512_CRYPT,
	PASSWORD_SCHEME_BLF_CRYPT,
	PASSWORD_SCHEME__COUNT
};

static const char *const password_scheme_names[] = {
	[PASSWORD_SCHEME_ARGON2ID] = "{ARGON2ID}",
	[PASSWORD_SCHEME_ARGON2I] = "{ARGON2I}",
	[PASSWORD_SCHEME_SHA512_CRYPT] = "{SHA512-CRYPT}",
	[PASSWORD_SCHEME_BLF_CRYPT] = "{BLF-CRYPT}",
};
_Static_assert(sizeof(password_scheme_names) / sizeof(password_scheme_names[0]) ==
	       PASSWORD_SCHEME__COUNT, "scheme table");

/* Split "{SCHEME}rest": returns the scheme (names compare in any case, as in
 * Dovecot) and sets *rest_r, or -1 when the prefix is unknown. */
static int password_scheme_parse(const char *stored, const char **rest_r)
{
	for (int i = 0; i < PASSWORD_SCHEME__COUNT; i++) {
		size_t n = strlen(password_scheme_names[i]);

		if (strncasecmp(stored, password_scheme_names[i], n) == 0) {
			*rest_r = stored + n;
			return i;
		}
	}
	return -1;
}

static bool password_is_crypt64(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '/';
}

/* Count leading crypt-alphabet characters. */
static size_t password_crypt64_span(const char *s)
{
	size_t n = 0;

	while (password_is_crypt64(s[n]))
		n++;
	return n;
}

/* $6$[rounds=N$]salt$hash: salt 1..16, hash 86 characters. */
static bool password_sha512_valid(const char *s, const char **error_r)
{
	size_t n;

	if (strncmp(s, "$6$", 3) != 0) {
		*error_r = "SHA512-CRYPT hash must start with $6$";
		return false;
	}
	s += 3;
	if (strncmp(s, "rounds=", 7) == 0) {
		unsigned long rounds;

		s += 7;
		n = strspn(s, "0123456789");
		if (n == 0 || n > 9 || s[n] != '$') {
			*error_r = "SHA512-CRYPT rounds malformed";
			return false;
		}
		rounds = strtoul(s, NULL, 10);
		/* crypt(3) runs at least 1000 rounds, whatever is asked. */
		if (rounds > password_sha512_rounds_max && rounds > PASSWORD_SHA512_ROUNDS_DEFAULT) {
			snprintf(password_why, sizeof(password_why),
				 "SHA512-CRYPT rounds=%lu is above the ceiling of %lu "
				 "([auth] sha512_rounds_max raises it)", rounds,
				 password_sha512_rounds_max);
			*error_r = password_why;
			return false;
		}
		s += n + 1;
	}
	n = password_crypt64_span(s);
	if (n == 0 || n > 16 || s[n] != '$') {
		*error_r = "SHA512-CRYPT salt malformed";
		return false;
	}
	s += n + 1;
	if (password_crypt64_span(s) != 86 || s[86] != '\0') {
		*error_r = "SHA512-CRYPT hash malformed";
		return false;
	}
	return true;
}

/* $2y$NN$ + 22 characters of salt + 31 of hash (also $2a$ and $2b$). */
static bool password_blf_valid(const char *s, const char **error_r)
{
	unsigned cost;

	if (strncmp(s, "$2", 2) != 0 || (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') ||
	    s[3] != '$') {
		*error_r = "BLF-CRYPT hash must start with $2y$, $2b$ or $2a$";
		return false;
	}
	if (s[4] < '0' || s[4] > '3' || s[5] < '0' || s[5] > '9' || s[6] != '$' ||
	    (s[4] - '0') * 10 + (s[5] - '0') < 4 || (s[4] - '0') * 10 + (s[5] - '0') > 31) {
		*error_r = "BLF-CRYPT cost malformed (04..31)";
		return false;
	}
	if (password_crypt64_span(s + 7) != 53 || s[60] != '\0') {
		*error_r = "BLF-CRYPT salt/hash malformed";
		return false;
	}
	/* Each step doubles the work: cost 31 is 2^19 times cost 12. */
	cost = (unsigned)(s[4] - '0') * 10 + (unsigned)(s[5] - '0');
	if (cost > password_bcrypt_cost_max) {
		snprintf(password_why, sizeof(password_why),
			 "BLF-CRYPT cost %u is above the ceiling of %u "
			 "([auth] bcrypt_cost_max raises it)", cost, password_bcrypt_cost_max);
		*error_r = password_why;
		return false;
	}
	return true;
}

/* $argon2id$v=19$m=M,t=T,p=P$salt$hash: the shape only; libargon2 decodes
 * the numbers when verifying. */
static bool password_argon2_valid(const char *s, const char *variant, const char **error_r)
{
	size_t vlen = strlen(variant);
	const char *params;
	unsigned version, m, t, p;
	int dollars = 0;
	int end = 0;

	if (s[0] != '$' || strncmp(s + 1, variant, vlen) != 0 || s[1 + vlen] != '$') {
		*error_r = "ARGON2 hash must start with $argon2id$ or $argon2i$";
		return false;
	}
	s += 1 + vlen;
	params = s;
	if (strncmp(s, "$v=", 3) != 0) {
		*error_r = "ARGON2 hash lacks a version";
		return false;
	}
	for (; *s != '\0'; s++) {
		if (*s == '$')
			dollars++;
		else if (!password_is_crypt64(*s) && *s != '+' && *s != '=' && *s != ',')
			break;
	}
	if (*s != '\0' || dollars != 4) {
		*error_r = "ARGON2 hash malformed";
		return false;
	}
	if (sscanf(params, "$v=%u$m=%u,t=%u,p=%u$%n", &version, &m, &t, &p, &end) != 4 ||
	    end == 0 || m < 8 || t < 1 || p < 1 || p > PASSWORD_ARGON2_P_MAX) {
		*error_r = "ARGON2 parameters malformed (or more than 16 lanes)";
		return false;
	}
	/* Bound the work a stored hash can ask for. */
	if (m > password_argon2_m_max) {
		snprintf(password_why, sizeof(password_why),
			 "ARGON2 memory m=%u KiB is above the ceiling of %lu KiB "
			 "([auth] argon2_memory_max raises it)", m, password_argon2_m_max);
		*error_r = password_why;
		return false;
	}
	if (t > password_argon2_t_max) {
		snprintf(password_why, sizeof(password_why),
			 "ARGON2 passes t=%u is above the ceiling of %u "
			 "([auth] argon2_passes_max raises it)", t, password_argon2_t_max);
		*error_r = password_why;
		return false;
	}
	return true;
}

bool password_needs_rehash(const char *stored)
{
	const char *rest;
	unsigned version, m, t, p;

	if (password_scheme_parse(stored, &rest) != PASSWORD_SCHEME_ARGON2ID)
		return true;
	if (sscanf(rest, "$argon2id$v=%u$m=%u,t=%u,p=%u$", &version, &m, &t, &p) != 4)
		return true;
	return version != ARGON2_VERSION_13 || m < PASSWORD_ARGON2_M || t < PASSWORD_ARGON2_T;
}

bool password_hash_valid(const char *stored, const char **error_r)
{
	const char *rest;
	const char *dummy;

	if (error_r == NULL)
		error_r = &dummy;
	if (stored == NULL || strlen(stored) > PASSWORD_STORED_MAX) {
		*error_r = "hash missing or too long";
		return false;
	}
	switch (password_scheme_parse(stored, &rest)) {
	case PASSWORD_SCHEME_ARGON2ID:
		return password_argon2_valid(rest, "argon2id", error_r);
	case PASSWORD_SCHEME_ARGON2I:
		return password_argon2_valid(rest, "argon2i", error_r);
	case PASSWORD_SCHEME_SHA512_CRYPT:
		return password_sha512_valid(rest, error_r);
	case PASSWORD_SCHEME_BLF_CRYPT:
		return password_blf_valid(rest, error_r);
	default:
		*error_r = "unknown scheme (accepted: {ARGON2ID}, {ARGON2I}, {SHA512-CRYPT}, {BLF-CRYPT})";
		return false;
	}
}

char *password_hash(const char *password)
{
	unsigned char salt[PASSWORD_SALT_LEN];
	const char *prefix = password_scheme_names[PASSWORD_SCHEME_ARGON2ID];
	size_t prefix_len = strlen(prefix);
	size_t pwlen = strlen(password);
	size_t enclen;
	char *out;

	if (pwlen > PASSWORD_MAX)
		return NULL;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return NULL;
	enclen = argon2_encodedlen(PASSWORD_ARGON2_T, PASSWORD_ARGON2_M, PASSWORD_ARGON2_P,
				   PASSWORD_SALT_LEN, PASSWORD_HASH_LEN, Argon2_id);
	out = malloc(prefix_len + enclen + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, prefix, prefix_len);
	if (argon2id_hash_encoded(PASSWORD_ARGON2_T, PASSWORD_ARGON2_M, PASSWORD_ARGON2_P,
				  password, pwlen, salt, sizeof(salt), PASSWORD_HASH_LEN,
				  out + prefix_len, enclen + 1) != ARGON2_OK) {
		free(out);
		return NULL;
	}
	return out;
}

/* crypt_r() recomputes the whole "$id$salt$hash" string; compare it to the
 * stored one in constant time. */
static bool password_crypt_verify(const char *password, const char *setting)
{
	struct crypt_data *data = calloc(1, sizeof(*data));
	const char *out;
	size_t len = strlen(setting);
	bool ok = false;

	if (data == NULL)
		return false;
	out = crypt_r(password, setting, data);
	if (out != NULL && out[0] != '*' && strlen(out) == len)
		ok = CRYPTO_memcmp(out, setting, len) == 0;
	OPENSSL_cleanse(data, sizeof(*data));
	free(data);
	return ok;
}

bool password_verify(const char *password, const char *stored)
{
	const char *rest;
	size_t pwlen;

	if (password == NULL || !password_hash_valid(stored, NULL))
		return false;
	pwlen = strlen(password);
	if (pwlen > PASSWORD_MAX)
		return false;
	switch (password_scheme_parse(stored, &rest)) {
	case PASSWORD_SCHEME_ARGON2ID:
		/* argon2 compares the digests in constant time itself. */
		return argon2id_verify(rest, password, pwlen) == ARGON2_OK;
	case PASSWORD_SCHEME_ARGON2I:
		return argon2i_verify(rest, password, pwlen) == ARGON2_OK;
	case PASSWORD_SCHEME_SHA512_CRYPT:
	case PASSWORD_SCHEME_BLF_CRYPT:
		return password_crypt_verify(password, rest);
	default:
		return false;
	}
}

/* --- new passwords ------------------------------------------------------- */

/* Room for "PASS " and CRLF in a 255-octet POP3 command line (RFC 2449 4),
 * and within SASL PLAIN's 255-octet field (RFC 4616 2), with a margin. */
#define PASSWORD_NEW_MAX 200
#define PASSWORD_STR_(x) #x
#define PASSWORD_STR(x) PASSWORD_STR_(x)

bool password_check_new(const char *password, size_t len, const char **why_r)
{
	const unsigned char *p = (const unsigned char *)password;
	const char *why = NULL;

	if (len == 0)
		why = "it is empty";
	else if (memchr(p, '\0', len) != NULL)
		why = "it contains a NUL byte";
	else if (len > PASSWORD_NEW_MAX)
		why = "it is longer than " PASSWORD_STR(PASSWORD_NEW_MAX) " bytes";
	else if (!utf8_valid(p, len))
		why = "it is not valid UTF-8";
	else if (p[0] == ' ')
		why = "it begins with a space";
	else if (p[len - 1] == ' ')
		why = "it ends with a space";
	for (size_t i = 0; why == NULL && i < len; i++) {
		/* C0 controls and DEL; C1 (U+0080..U+009F) is 0xC2 0x80..0x9F */
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && i + 1 < len && p[i + 1] <= 0x9f))
			why = "it contains a control character (a tab, a line end, ...)";
	}
	if (why_r != NULL)
		*why_r = why;
	return why == NULL;
}
