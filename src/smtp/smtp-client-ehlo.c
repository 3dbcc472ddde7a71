/* smtp-client-ehlo - the keywords of an EHLO reply (see the header). */
#include "smtp/smtp-client-ehlo.h"

#include <stdbool.h>

static const struct {
	const char *keyword;
	enum smtp_client_ext ext;
} smtp_client_ehlo_keywords[] = {
	{ "PIPELINING", SMTP_CLIENT_EXT_PIPELINING },
	{ "SIZE", SMTP_CLIENT_EXT_SIZE },
	{ "8BITMIME", SMTP_CLIENT_EXT_8BITMIME },
	{ "SMTPUTF8", SMTP_CLIENT_EXT_SMTPUTF8 },
	{ "CHUNKING", SMTP_CLIENT_EXT_CHUNKING },
	{ "DSN", SMTP_CLIENT_EXT_DSN },
	{ "STARTTLS", SMTP_CLIENT_EXT_STARTTLS },
	{ "AUTH", SMTP_CLIENT_EXT_AUTH },
	{ "ENHANCEDSTATUSCODES", SMTP_CLIENT_EXT_ENHANCEDSTATUSCODES },
};

static bool smtp_client_ehlo_is(const char *word, size_t len, const char *name)
{
	size_t i;

	for (i = 0; i < len && name[i] != '\0'; i++)
		if ((word[i] | 0x20) != (name[i] | 0x20))
			return false;
	return i == len && name[i] == '\0';
}

/* RFC 1870 4: "SIZE" [SP number]; a value that is not 1*20DIGIT, or does
 * not fit, is no limit. */
static uint64_t smtp_client_ehlo_size(const char *p, size_t len)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return v;
}

/* The mechanisms of an AUTH line's parameters (RFC 4954 3). */
static unsigned smtp_client_ehlo_mechs(const char *p, size_t len)
{
	unsigned mechs = 0;
	size_t i = 0;

	while (i < len) {
		size_t start;

		while (i < len && (p[i] == ' ' || p[i] == '='))
			i++;
		start = i;
		while (i < len && p[i] != ' ')
			i++;
		if (smtp_client_ehlo_is(p + start, i - start, "PLAIN"))
			mechs |= SMTP_CLIENT_MECH_PLAIN;
		else if (smtp_client_ehlo_is(p + start, i - start, "LOGIN"))
			mechs |= SMTP_CLIENT_MECH_LOGIN;
	}
	return mechs;
}

static void smtp_client_ehlo_line(const char *p, size_t len, struct smtp_client_ehlo *out)
{
	size_t kw = 0;

	/* ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
	while (kw < len && p[kw] != ' ' && p[kw] != '=')
		kw++;
	for (size_t i = 0; i < sizeof(smtp_client_ehlo_keywords) / sizeof(smtp_client_ehlo_keywords[0]);
	     i++) {
		const char *params = p + kw;
		size_t plen = len - kw;

		if (!smtp_client_ehlo_is(p, kw, smtp_client_ehlo_keywords[i].keyword))
			continue;
		if (plen > 0 && params[0] == '=' && smtp_client_ehlo_keywords[i].ext != SMTP_CLIENT_EXT_AUTH)
			return;
		out->ext |= (unsigned)smtp_client_ehlo_keywords[i].ext;
		while (plen > 0 && (params[0] == ' ' || params[0] == '=')) {
			params++;
			plen--;
		}
		if (smtp_client_ehlo_keywords[i].ext == SMTP_CLIENT_EXT_SIZE)
			out->size_max = smtp_client_ehlo_size(params, plen);
		else if (smtp_client_ehlo_keywords[i].ext == SMTP_CLIENT_EXT_AUTH)
			out->mechs |= smtp_client_ehlo_mechs(params, plen);
		return;
	}
}

void smtp_client_ehlo_parse(const char *text, size_t len, struct smtp_client_ehlo *out)
{
	size_t i = 0;
	bool first = true;

	*out = (struct smtp_client_ehlo){ 0 };
	while (i < len) {
		size_t start = i;

		while (i < len && text[i] != '\n')
			i++;
		if (!first)
			smtp_client_ehlo_line(text + start, i - start, out);
		first = false;
		i++;
	}
}
