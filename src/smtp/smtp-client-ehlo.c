/* smtp-client-ehlo - the extensions of an EHLO reply; see
 * smtp-client-ehlo.h. */
#include "smtp/smtp-client-ehlo.h"

#include <string.h>
#include <strings.h>

#include "core/number.h"

static const char *const smtp_client_ext_names[] = {
	[SMTP_CLIENT_EXT_PIPELINING] = "PIPELINING",
	[SMTP_CLIENT_EXT_SIZE] = "SIZE",
	[SMTP_CLIENT_EXT_8BITMIME] = "8BITMIME",
	[SMTP_CLIENT_EXT_SMTPUTF8] = "SMTPUTF8",
	[SMTP_CLIENT_EXT_STARTTLS] = "STARTTLS",
	[SMTP_CLIENT_EXT_CHUNKING] = "CHUNKING",
	[SMTP_CLIENT_EXT_BINARYMIME] = "BINARYMIME",
	[SMTP_CLIENT_EXT_DSN] = "DSN",
	[SMTP_CLIENT_EXT_ENHANCEDSTATUSCODES] = "ENHANCEDSTATUSCODES",
	[SMTP_CLIENT_EXT_AUTH] = "AUTH",
};
_Static_assert(sizeof(smtp_client_ext_names) / sizeof(smtp_client_ext_names[0]) ==
	       SMTP_CLIENT_EXT__COUNT, "smtp_client_ext_names");

static const char *const smtp_auth_names[] = {
	[SMTP_AUTH_PLAIN] = "PLAIN",
	[SMTP_AUTH_LOGIN] = "LOGIN",
};
_Static_assert(sizeof(smtp_auth_names) / sizeof(smtp_auth_names[0]) == SMTP_AUTH__COUNT,
	       "smtp_auth_names");

const char *smtp_client_ext_name(enum smtp_client_ext ext)
{
	return (unsigned)ext < SMTP_CLIENT_EXT__COUNT ? smtp_client_ext_names[ext] : "?";
}

/* The next word of [p, end) separated by spaces (and, after AUTH's old
 * form, '='); *p moves past it. */
static bool smtp_ehlo_word(const char **p, const char *end, const char **word_r, size_t *len_r)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	if (*p >= end)
		return false;
	*word_r = *p;
	while (*p < end && **p != ' ' && **p != '\t' && **p != '=')
		(*p)++;
	*len_r = (size_t)(*p - *word_r);
	if (*p < end && **p == '=')
		(*p)++;
	return *len_r > 0 || *p < end;
}

static bool smtp_ehlo_is(const char *word, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(word, name, len) == 0;
}

static void smtp_ehlo_line(const char *line, const char *end, struct smtp_client_ehlo *ehlo)
{
	const char *p = line, *word, *param;
	size_t len, plen;
	int ext = -1;

	if (!smtp_ehlo_word(&p, end, &word, &len))
		return;
	for (int i = 0; i < SMTP_CLIENT_EXT__COUNT; i++)
		if (smtp_ehlo_is(word, len, smtp_client_ext_names[i]))
			ext = i;
	if (ext < 0)
		return;
	if (ext == SMTP_CLIENT_EXT_SIZE) {
		/* RFC 1870 4: "SIZE" [SP number]; 0 or nothing: no stated limit */
		uint64_t max = 0;

		if (smtp_ehlo_word(&p, end, &param, &plen) && plen > 0 &&
		    !number_parse_u64(param, plen, UINT64_MAX, &max))
			return;
		ehlo->size_max = max;
	}
	if (ext == SMTP_CLIENT_EXT_AUTH) {
		while (smtp_ehlo_word(&p, end, &param, &plen))
			for (int m = 0; m < SMTP_AUTH__COUNT; m++)
				if (smtp_ehlo_is(param, plen, smtp_auth_names[m]))
					ehlo->auth |= 1u << m;
	}
	ehlo->exts |= 1u << ext;
}

void smtp_client_ehlo_parse(const struct smtp_client_reply *reply, struct smtp_client_ehlo *ehlo_r)
{
	const char *p = reply->text, *end = reply->text + reply->text_len;
	bool first = true;

	memset(ehlo_r, 0, sizeof(*ehlo_r));
	if (reply->code != 250)
		return;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl != NULL ? nl : end;

		/* the text was cut: its last line may be a part of one
		 * ("SIZE 1" of "SIZE 10240000"), not read */
		if (nl == NULL && reply->truncated)
			break;
		if (!first)
			smtp_ehlo_line(p, line_end, ehlo_r);
		first = false;
		p = nl != NULL ? nl + 1 : end;
	}
}
