/* smtp - the SMTP services as protocol modules: smtp (port 25, mail from
 * the internet, RFC 5321), submission (587, RFC 6409, STARTTLS),
 * submissions (465, implicit TLS, RFC 8314) and the local socket `tern
 * sendmail` speaks SMTP on (as OpenSMTPD's enqueue does). One session
 * serves all four; the listener's context says which service it is. The
 * serve command attaches smtp_submission_protocol (which has a login
 * phase) to submission and submissions, smtp_protocol to the others. */
#ifndef TERN_SMTP_SMTP_H
#define TERN_SMTP_SMTP_H

#include "core/conn.h"

struct cidr_list;
struct dkim_keys;
struct dir;
struct mail_srs;
struct queue;
struct smtp_pregreet;
struct store_root;

enum smtp_service {
	SMTP_SERVICE_MX,           /* port 25: local domains, or relay for trusted networks */
	SMTP_SERVICE_SUBMISSION,   /* 587 and 465: AUTH before MAIL, then relay */
	/* [server] public_dir/sendmail.sock, `tern sendmail`: the peer's uid
	 * (SO_PEERCRED) says who sends; it may relay, any sender, no TLS or
	 * AUTH, no pregreet; Received names the local user */
	SMTP_SERVICE_LOCAL,
	SMTP_SERVICE__COUNT
};

/* A listener's context; everything it points to outlives the server. */
struct smtp_context {
	enum smtp_service service;
	struct dir *dir;                     /* recipients, senders, logins */
	struct queue *queue;                 /* where accepted mail goes */
	struct store_root *store;            /* the accounts' stores, for quotas */
	const char *hostname;                /* [server] hostname: greeting, Received */
	const struct cidr_list *trusted;     /* [smtp] trusted_networks, parsed */
	struct smtp_pregreet *pregreet;      /* port 25: addresses that passed the test */
	const struct mail_srs *srs;          /* [queue] srs: decodes bounces to SRS addresses; NULL: off */
	/* DATA/dkim's keys: submission and sendmail sign with them
	 * (smtp-sign.c); NULL: nothing is signed */
	struct dkim_keys *dkim;
};

extern const struct protocol smtp_protocol;
extern const struct protocol smtp_submission_protocol;

#endif
