/* smtp-status - a reply code with its enhanced status code (RFC 3463,
 * RFC 2034) and a short English text: what the parsers' typed results map
 * to, so the session turns each result into a reply in one place. */
#ifndef TERN_SMTP_SMTP_STATUS_H
#define TERN_SMTP_SMTP_STATUS_H

struct smtp_status {
	unsigned short code;    /* 501; 0 for a result that is not an error */
	const char *enhanced;   /* "5.1.3"; NULL when code is 0 */
	const char *text;       /* "Invalid recipient address"; never client text */
};

#endif
