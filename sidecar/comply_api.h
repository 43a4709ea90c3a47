/*
 * Copyright (C) Keryu Security
 *
 * The compliance endpoints of the HTTP API.  api.c routes them, checks
 * the token and the role, and hands each request here with the token's
 * name as actor:
 *
 *   GET    /api/security/compliance/[?standard=KEY]  admin, auditor
 *   POST   /api/security/compliance/run              admin
 *   GET    /api/security/audits/                     admin, auditor
 *   POST   /api/security/audits/                     admin, auditor
 *   GET    /api/security/audits/ID/                  admin, auditor
 *   PUT    /api/security/audits/ID/                  admin, auditor
 *   DELETE /api/security/audits/ID/                  admin
 *   GET    /api/security/reports/                    admin, auditor
 *   POST   /api/security/reports/                    admin, auditor
 *   GET    /api/security/reports/ID/                 admin, auditor
 *   GET    /api/security/reports/ID/download         admin, auditor
 *   GET    /api/security/risk/                       admin, auditor
 *
 * Answers are JSON but for a report's download, which has the report's
 * own content type.  Every change is recorded as a system_change event.
 */


#ifndef _KERYUD_COMPLY_API_H_INCLUDED_
#define _KERYUD_COMPLY_API_H_INCLUDED_


#include "comply.h"


struct evhttp_request;


void comply_api_compliance(comply_t *c, struct evhttp_request *req);
void comply_api_run(comply_t *c, struct evhttp_request *req,
    const char *actor);
void comply_api_audits(comply_t *c, struct evhttp_request *req,
    const char *name, const char *actor);
void comply_api_reports(comply_t *c, struct evhttp_request *req,
    const char *name, const char *actor);
void comply_api_report_file(comply_t *c, struct evhttp_request *req,
    const char *name);
void comply_api_risk(comply_t *c, struct evhttp_request *req);


#endif /* _KERYUD_COMPLY_API_H_INCLUDED_ */
