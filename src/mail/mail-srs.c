/* mail-srs - SRS0/SRS1 rewriting of envelope senders and its reverse;
 * see mail-srs.h. */
#include "mail/mail-srs.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAIL_SRS_HASH_LEN 6
#define MAIL_SRS_DAYS 1024   /* the timestamp's period: two base32 characters */

static const char *const mail_srs_result_names[] = {
	[MAIL_SRS_OK] = "ok",
	[MAIL_SRS_NOT_SRS] = "not srs",
	[MAIL_SRS_BAD_SYNTAX] = "bad syntax",
	[MAIL_SRS_BAD_HASH] = "bad hash",
	[MAIL_SRS_EXPIRED] = "expired",
	[MAIL_SRS_TOO_LONG] = "too long",
};
_Static_assert(ARRAY_SIZE(mail_srs_result_names) == MAIL_SRS__COUNT,
	       "mail_srs_result_names must cover enum mail_srs_result");

const char *mail_srs_result_name(enum mail_srs_result result)
{
	if ((unsigned)result >= MAIL_SRS__COUNT)
		return "unknown";
	return mail_srs_result_names[result];
}

/* RFC 4648 6 */
static const char mail_srs_base32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static int mail_srs_base32_value(char c)
{
	const char *p;

	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	p = c != '\0' ? strchr(mail_srs_base32, c) : NULL;
	return p != NULL ? (int)(p - mail_srs_base32) : -1;
}

/* The hash of data[0..len) (lower-cased first): MAIL_SRS_HASH_LEN base32
 * characters and a NUL into out. */
static void mail_srs_hash(const struct mail_srs *srs, const char *data, size_t len,
			  char out[MAIL_SRS_HASH_LEN + 1])
{
	unsigned char lower[MAIL_SRS_ADDRESS_MAX];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	uint32_t bits;

	for (size_t i = 0; i < len; i++)
		lower[i] = (unsigned char)(data[i] >= 'A' && data[i] <= 'Z' ? data[i] - 'A' + 'a'
									    : data[i]);
	HMAC(EVP_sha256(), srs->secret, sizeof(srs->secret), lower, len, mac, &mac_len);
	bits = (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
	for (size_t i = 0; i < MAIL_SRS_HASH_LEN; i++)
		out[i] = mail_srs_base32[(bits >> (27 - 5 * i)) & 31];
	out[MAIL_SRS_HASH_LEN] = '\0';
}

static bool mail_srs_hash_ok(const struct mail_srs *srs, const char *hash, size_t hash_len,
			     const char *data, size_t len)
{
	char want[MAIL_SRS_HASH_LEN + 1], got[MAIL_SRS_HASH_LEN];

	if (hash_len != MAIL_SRS_HASH_LEN)
		return false;
	mail_srs_hash(srs, data, len, want);
	for (size_t i = 0; i < MAIL_SRS_HASH_LEN; i++)
		got[i] = (char)(hash[i] >= 'a' && hash[i] <= 'z' ? hash[i] - 'a' + 'A' : hash[i]);
	return CRYPTO_memcmp(want, got, MAIL_SRS_HASH_LEN) == 0;
}

/* Whether local[0..len) starts with "SRS0" or "SRS1" (any case) and a
 * separator: '=', or '+' and '-' that some forwarders write. */
static bool mail_srs_tag(const char *local, size_t len, char digit)
{
	return len > 4 && strncasecmp(local, "SRS", 3) == 0 && local[3] == digit &&
	       (local[4] == '=' || local[4] == '+' || local[4] == '-');
}

/* "TAG=HASH=data@domain" into out, hashing data. */
static enum mail_srs_result mail_srs_write(const struct mail_srs *srs, char *out, const char *tag,
					   const char *data, size_t data_len, const char *domain)
{
	char hash[MAIL_SRS_HASH_LEN + 1];
	int n;

	if (data_len + strlen(domain) + 6 + MAIL_SRS_HASH_LEN + 1 > MAIL_SRS_ADDRESS_MAX)
		return MAIL_SRS_TOO_LONG;
	mail_srs_hash(srs, data, data_len, hash);
	n = snprintf(out, MAIL_SRS_ADDRESS_MAX + 1, "%s=%s=%.*s@%s", tag, hash, (int)data_len, data,
		     domain);
	return n > 0 && n <= MAIL_SRS_ADDRESS_MAX ? MAIL_SRS_OK : MAIL_SRS_TOO_LONG;
}

static const char *mail_srs1_split(const char *data, size_t len);

enum mail_srs_result mail_srs_forward(const struct mail_srs *srs, const char *sender,
				      const char *domain, int64_t now, char *out)
{
	const char *at = strrchr(sender, '@');
	char data[MAIL_SRS_ADDRESS_MAX + 1];
	size_t local_len, len = strlen(sender);
	int64_t day;
	int n;

	/* an '=' in a domain would make the rewriting ambiguous */
	if (at == NULL || at == sender || at[1] == '\0' || domain[0] == '\0' ||
	    strchr(at + 1, '=') != NULL || strchr(domain, '=') != NULL)
		return MAIL_SRS_BAD_SYNTAX;
	if (len > MAIL_SRS_ADDRESS_MAX)
		return MAIL_SRS_TOO_LONG;
	local_len = (size_t)(at - sender);
	if (strcasecmp(at + 1, domain) == 0) {
		memcpy(out, sender, len + 1);
		return MAIL_SRS_OK;
	}
	if (mail_srs_tag(sender, local_len, '0')) {
		/* another forwarder's: SRS1 names it, with its part after "SRS0" */
		n = snprintf(data, sizeof(data), "%s=%.*s", at + 1, (int)(local_len - 4),
			     sender + 4);
		if (n < 0 || (size_t)n >= sizeof(data))
			return MAIL_SRS_TOO_LONG;
		/* "SRS0=" and nothing after it: rewritten as any address */
		if (mail_srs1_split(data, (size_t)n) != NULL)
			return mail_srs_write(srs, out, "SRS1", data, (size_t)n, domain);
	}
	if (mail_srs_tag(sender, local_len, '1')) {
		/* SRS1=HASH=host==rest: the first forwarder stays, the hash is
		 * ours; one that is not well formed is rewritten as any address */
		const char *rest = memchr(sender + 5, '=', local_len - 5);

		if (rest != NULL && mail_srs1_split(rest + 1, (size_t)(at - rest - 1)) != NULL)
			return mail_srs_write(srs, out, "SRS1", rest + 1, (size_t)(at - rest - 1),
					      domain);
	}
	day = (now / 86400) % MAIL_SRS_DAYS;
	if (day < 0)
		day += MAIL_SRS_DAYS;
	n = snprintf(data, sizeof(data), "%c%c=%s=%.*s", mail_srs_base32[day >> 5],
		     mail_srs_base32[day & 31], at + 1, (int)local_len, sender);
	if (n < 0 || (size_t)n >= sizeof(data))
		return MAIL_SRS_TOO_LONG;
	return mail_srs_write(srs, out, "SRS0", data, (size_t)n, domain);
}

/* SRS0's data, "TT=domain=local": the age checked, local@domain out. */
static enum mail_srs_result mail_srs_reverse0(const struct mail_srs *srs, const char *data,
					      size_t len, int64_t now, char *out)
{
	unsigned max_age = srs->max_age_days != 0 ? srs->max_age_days : MAIL_SRS_MAX_AGE_DAYS;
	int hi, lo;
	const char *domain, *local;
	int64_t then, today, age;
	size_t domain_len;

	if (len < 3 || data[2] != '=' || (hi = mail_srs_base32_value(data[0])) < 0 ||
	    (lo = mail_srs_base32_value(data[1])) < 0)
		return MAIL_SRS_BAD_SYNTAX;
	domain = data + 3;
	local = memchr(domain, '=', len - 3);
	if (local == NULL || local == domain || local + 1 == data + len)
		return MAIL_SRS_BAD_SYNTAX;
	domain_len = (size_t)(local - domain);
	local++;
	then = hi * 32 + lo;
	today = (now / 86400) % MAIL_SRS_DAYS;
	age = (today - then + MAIL_SRS_DAYS) % MAIL_SRS_DAYS;
	if (age > (int64_t)max_age)
		return MAIL_SRS_EXPIRED;
	if (snprintf(out, MAIL_SRS_ADDRESS_MAX + 1, "%.*s@%.*s", (int)(data + len - local), local,
		     (int)domain_len, domain) > MAIL_SRS_ADDRESS_MAX)
		return MAIL_SRS_TOO_LONG;
	return MAIL_SRS_OK;
}

/* SRS1's data, "host=SEP rest": the '=' after host, or NULL when broken. */
static const char *mail_srs1_split(const char *data, size_t len)
{
	const char *sep = memchr(data, '=', len);

	if (sep == NULL || sep == data || (size_t)(sep - data) + 2 >= len ||
	    (sep[1] != '=' && sep[1] != '+' && sep[1] != '-'))
		return NULL;
	return sep;
}

/* SRS1's data, "host=SEP rest": "SRS0" SEP rest "@" host out. */
static enum mail_srs_result mail_srs_reverse1(const char *data, size_t len, char *out)
{
	const char *sep = mail_srs1_split(data, len);

	if (sep == NULL)
		return MAIL_SRS_BAD_SYNTAX;
	if (snprintf(out, MAIL_SRS_ADDRESS_MAX + 1, "SRS0%.*s@%.*s", (int)(data + len - sep - 1),
		     sep + 1, (int)(sep - data), data) > MAIL_SRS_ADDRESS_MAX)
		return MAIL_SRS_TOO_LONG;
	return MAIL_SRS_OK;
}

enum mail_srs_result mail_srs_reverse(const struct mail_srs *srs, const char *address,
				      size_t len, int64_t now, char *out)
{
	const char *at = NULL, *hash, *data;
	size_t local_len;
	bool srs1;

	for (size_t i = len; i > 0 && at == NULL; i--)
		if (address[i - 1] == '@')
			at = address + i - 1;
	local_len = at != NULL ? (size_t)(at - address) : len;
	srs1 = mail_srs_tag(address, local_len, '1');
	if (!srs1 && !mail_srs_tag(address, local_len, '0'))
		return MAIL_SRS_NOT_SRS;
	if (at == NULL || len > MAIL_SRS_ADDRESS_MAX || memchr(address, '\0', len) != NULL)
		return MAIL_SRS_BAD_SYNTAX;
	hash = address + 5;
	data = memchr(hash, '=', local_len - 5);
	if (data == NULL)
		return MAIL_SRS_BAD_SYNTAX;
	data++;
	if (!mail_srs_hash_ok(srs, hash, (size_t)(data - 1 - hash), data, (size_t)(at - data)))
		return MAIL_SRS_BAD_HASH;
	if (srs1)
		return mail_srs_reverse1(data, (size_t)(at - data), out);
	return mail_srs_reverse0(srs, data, (size_t)(at - data), now, out);
}
