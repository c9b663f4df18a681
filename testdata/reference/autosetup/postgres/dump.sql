--
-- PostgreSQL database dump
--

\restrict ftsphC179QH6buMxNbi71zfVheAzQJTQfjDWLZecOJ4qeSFF5WuZhGiByyiDwPe

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: apikeys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.apikeys (
    apikey text NOT NULL,
    issued timestamp without time zone NOT NULL,
    expires timestamp without time zone NOT NULL,
    not_valid_before timestamp without time zone NOT NULL,
    user_id integer NOT NULL,
    user_role character varying(100) NOT NULL,
    session_token text NOT NULL
);


--
-- Name: apikeys_nosession; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.apikeys_nosession (
    apikey text NOT NULL,
    issued timestamp without time zone NOT NULL,
    expires timestamp without time zone NOT NULL,
    not_valid_before timestamp without time zone NOT NULL,
    refresh_token text NOT NULL,
    refresh_issued timestamp without time zone NOT NULL,
    refresh_expires timestamp without time zone NOT NULL,
    refresh_nbf timestamp without time zone NOT NULL,
    user_id integer NOT NULL,
    user_role character varying(100) NOT NULL
);


--
-- Name: groups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.groups (
    group_id integer NOT NULL,
    system_id character varying(50) NOT NULL,
    group_name character varying(280) NOT NULL,
    visibility character varying(100) NOT NULL,
    created_by integer NOT NULL,
    is_active boolean NOT NULL,
    created_on timestamp without time zone NOT NULL,
    last_updated timestamp without time zone NOT NULL,
    group_role character varying(100) NOT NULL,
    extra_info json
);


--
-- Name: groups_group_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.groups_group_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: groups_group_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.groups_group_id_seq OWNED BY public.groups.group_id;


--
-- Name: preferences; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.preferences (
    pref_id integer NOT NULL,
    user_id integer NOT NULL,
    pref_name character varying(100) NOT NULL,
    pref_value character varying(280)
);


--
-- Name: preferences_pref_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.preferences_pref_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: preferences_pref_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.preferences_pref_id_seq OWNED BY public.preferences.pref_id;


--
-- Name: roles; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.roles (
    name character varying(100) NOT NULL,
    "desc" character varying(280) NOT NULL
);


--
-- Name: sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sessions (
    session_token character varying NOT NULL,
    ip_address character varying(280) NOT NULL,
    user_agent character varying(280) NOT NULL,
    user_id integer NOT NULL,
    created timestamp without time zone NOT NULL,
    expires timestamp without time zone NOT NULL,
    extra_info_json json
);


--
-- Name: user_groups; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.user_groups (
    user_id integer NOT NULL,
    group_id integer NOT NULL
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    user_id integer NOT NULL,
    system_id character varying(50) NOT NULL,
    full_name character varying(280),
    password text NOT NULL,
    email character varying(280) NOT NULL,
    email_verified boolean NOT NULL,
    is_active boolean NOT NULL,
    emailverify_sent_datetime timestamp without time zone,
    emailforgotpass_sent_datetime timestamp without time zone,
    emailchangepass_sent_datetime timestamp without time zone,
    last_login_success timestamp without time zone,
    last_login_try timestamp without time zone,
    failed_login_tries integer,
    extra_info json,
    created_on timestamp without time zone NOT NULL,
    last_updated timestamp without time zone NOT NULL,
    user_role character varying(100) NOT NULL
);


--
-- Name: users_user_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.users_user_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: users_user_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.users_user_id_seq OWNED BY public.users.user_id;


--
-- Name: groups group_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.groups ALTER COLUMN group_id SET DEFAULT nextval('public.groups_group_id_seq'::regclass);


--
-- Name: preferences pref_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.preferences ALTER COLUMN pref_id SET DEFAULT nextval('public.preferences_pref_id_seq'::regclass);


--
-- Name: users user_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users ALTER COLUMN user_id SET DEFAULT nextval('public.users_user_id_seq'::regclass);


--
-- Data for Name: apikeys; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.apikeys (apikey, issued, expires, not_valid_before, user_id, user_role, session_token) FROM stdin;
HjadQX-aujUUbWXxETh9FP5wc9cVS7T1mcni3zZO6lo	2026-11-29 22:13:37.834995	2095-05-11 22:13:37.834995	2026-11-29 22:13:38.834995	4	authenticated	HJQaSK5izcHJrvPGcyOmUv8StqYgVJZ7T6XSyWqijK0
\.


--
-- Data for Name: apikeys_nosession; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.apikeys_nosession (apikey, issued, expires, not_valid_before, refresh_token, refresh_issued, refresh_expires, refresh_nbf, user_id, user_role) FROM stdin;
1c0UqnNU5KFImPhjkELgnXf0cgemhMYpkP8kyY3AOEg	2026-11-29 22:13:37.842013	2090-04-16 01:46:57.842013	2026-11-29 22:13:38.842013	$argon2id$v=19$m=102400,t=2,p=8$ad4MnryXdNdQfqghI5Tm3g$c+dmqR5ElEIltAgiZF9waw	2026-11-29 22:13:37.842013	2093-06-16 11:33:37.842013	2026-11-29 22:13:38.842013	5	authenticated
\.


--
-- Data for Name: groups; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.groups (group_id, system_id, group_name, visibility, created_by, is_active, created_on, last_updated, group_role, extra_info) FROM stdin;
\.


--
-- Data for Name: preferences; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.preferences (pref_id, user_id, pref_name, pref_value) FROM stdin;
\.


--
-- Data for Name: roles; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.roles (name, "desc") FROM stdin;
locked	Role with locked privileges
staff	Role with staff privileges
authenticated	Role with authenticated privileges
superuser	Role with superuser privileges
anonymous	Role with anonymous privileges
\.


--
-- Data for Name: sessions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.sessions (session_token, ip_address, user_agent, user_id, created, expires, extra_info_json) FROM stdin;
CU7j4pW3uN8ebThRlecU0nkuRgV0pYZDsLIP3DKFBXA	127.0.0.1	authnzrv-reffixture/1.0	1	2026-11-29 22:13:37.033301	2099-12-31 00:00:00	\N
HJQaSK5izcHJrvPGcyOmUv8StqYgVJZ7T6XSyWqijK0	127.0.0.1	authnzrv-reffixture/1.0	4	2026-11-29 22:13:37.293604	2099-12-31 00:00:00	\N
LZlNon-SR0V-mojh-zlAKjPMKQAlRLYoWJJTq3pvk6o	127.0.0.1	authnzrv-reffixture/1.0	5	2026-11-29 22:13:37.558817	2099-12-31 00:00:00	\N
wEPNVSFtd1gqECf8X3AzWqlHlavPOsrKTe2oPd8C1Ko	127.0.0.1	authnzrv-reffixture/1.0	2	2026-11-29 22:13:37.822956	2099-12-31 00:00:00	\N
Y9lClkvp--dFvwZD3H8qNZXe-_sPcqqyiZ4ioPut4h4	127.0.0.1	authnzrv-reffixture/1.0	4	2026-11-29 22:13:37.827619	2020-01-01 00:00:00	\N
\.


--
-- Data for Name: user_groups; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.user_groups (user_id, group_id) FROM stdin;
\.


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.users (user_id, system_id, full_name, password, email, email_verified, is_active, emailverify_sent_datetime, emailforgotpass_sent_datetime, emailchangepass_sent_datetime, last_login_success, last_login_try, failed_login_tries, extra_info, created_on, last_updated, user_role) FROM stdin;
1	b8bb75b5-bef2-4330-b984-069857935930	Superuser account	$argon2id$v=19$m=102400,t=2,p=8$juPbqWMmYjTfZTX3P8CbSQ$GJLbTF1Hfpcs7ZVY+T1nCg	root@localhost	t	t	\N	\N	\N	\N	\N	0	{"provenance": "auto-created", "type": "system-user"}	2026-11-29 22:13:27.260398	2026-11-29 22:13:27.260402	superuser
2	ae926980-2fbe-45ef-beb7-b8517ca09fbe	The systemwide anonymous user	$argon2id$v=19$m=102400,t=2,p=8$ni3UoRLbk3+W6aOLm+cmzw$RNSNCPGPMR/HWoU3eDmvCw	anonuser@localhost	t	t	\N	\N	\N	\N	\N	0	{"provenance": "auto-created", "type": "system-user"}	2026-11-29 22:13:27.368929	2026-11-29 22:13:27.368932	anonymous
3	f26ba073-f24d-4d24-8800-b35dd7c36cc1	The systemwide locked user	$argon2id$v=19$m=102400,t=2,p=8$y6QIxiFTYKw7y4cFEHTW3g$jID8QXPKZUW3YHWtzHSMzw	dummyuser@localhost	t	f	\N	\N	\N	\N	\N	0	{"provenance": "auto-created", "type": "locked-user"}	2026-11-29 22:13:27.483527	2026-11-29 22:13:27.483531	locked
4	5ab98708-10d6-4245-929b-c56036db34c2	Alice Fixture	$argon2id$v=19$m=102400,t=2,p=8$gxUsNfzDLCEIedPAoeApRQ$e9f2/hdS1bzTrfaHqCiVSA	alice@example.org	t	t	2026-11-29 22:13:35.509045	\N	\N	\N	\N	0	{"provenance": "request-created", "type": "normal-user", "verify_retry_wait": 6}	2026-11-29 22:13:35.509047	2026-11-29 22:13:35.52951	authenticated
5	c49bb2c4-0b7a-4c87-88d1-8dec4065c3d1	Bob Fixture	$argon2id$v=19$m=102400,t=2,p=8$5lb7RgAcRtAz04BJyf7wpA$KI0VU7N33VzejPTZX1kOQg	bob@example.org	t	t	2026-11-29 22:13:35.973559	\N	\N	\N	\N	0	{"provenance": "request-created", "type": "normal-user", "verify_retry_wait": 6}	2026-11-29 22:13:35.973561	2026-11-29 22:13:35.994186	authenticated
7	94076ca6-a2d2-454a-8bca-e4cddd8465f9	Dave Fixture	$argon2id$v=19$m=102400,t=2,p=8$xDNrRNwDXDcywzxagXmsEw$PJ3N5Kw1mwwUp0TCkMvVJg	dave@example.org	f	f	2026-11-29 22:13:36.756218	\N	\N	\N	\N	0	{"provenance": "request-created", "type": "normal-user", "verify_retry_wait": 6}	2026-11-29 22:13:36.756219	2026-11-29 22:13:36.75622	locked
6	2e83fefb-8507-49f3-b87c-fb80466aa90d	Carol Fixture	$argon2id$v=19$m=102400,t=2,p=8$reRzFzfQrEa5HIfAqkAjlQ$Hhxjzoqp9yVJQU42BxGoCQ	carol@example.org	t	f	2026-11-29 22:13:36.267612	\N	\N	\N	\N	0	{"provenance": "request-created", "type": "normal-user", "verify_retry_wait": 6, "previous_user_roles": ["locked", "authenticated"]}	2026-11-29 22:13:36.267614	2026-11-29 22:13:37.817013	locked
\.


--
-- Name: groups_group_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.groups_group_id_seq', 1, false);


--
-- Name: preferences_pref_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.preferences_pref_id_seq', 1, false);


--
-- Name: users_user_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.users_user_id_seq', 7, true);


--
-- Name: apikeys_nosession apikeys_nosession_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apikeys_nosession
    ADD CONSTRAINT apikeys_nosession_pkey PRIMARY KEY (apikey);


--
-- Name: apikeys apikeys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apikeys
    ADD CONSTRAINT apikeys_pkey PRIMARY KEY (apikey);


--
-- Name: groups groups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.groups
    ADD CONSTRAINT groups_pkey PRIMARY KEY (group_id);


--
-- Name: preferences preferences_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.preferences
    ADD CONSTRAINT preferences_pkey PRIMARY KEY (pref_id);


--
-- Name: roles roles_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.roles
    ADD CONSTRAINT roles_pkey PRIMARY KEY (name);


--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (session_token);


--
-- Name: user_groups user_groups_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_groups
    ADD CONSTRAINT user_groups_pkey PRIMARY KEY (user_id, group_id);


--
-- Name: users users_email_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_email_key UNIQUE (email);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (user_id);


--
-- Name: ix_apikeys_expires; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_apikeys_expires ON public.apikeys USING btree (expires);


--
-- Name: ix_apikeys_nosession_expires; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_apikeys_nosession_expires ON public.apikeys_nosession USING btree (expires);


--
-- Name: ix_apikeys_nosession_not_valid_before; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_apikeys_nosession_not_valid_before ON public.apikeys_nosession USING btree (not_valid_before);


--
-- Name: ix_apikeys_nosession_refresh_expires; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_apikeys_nosession_refresh_expires ON public.apikeys_nosession USING btree (refresh_expires);


--
-- Name: ix_apikeys_nosession_refresh_nbf; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_apikeys_nosession_refresh_nbf ON public.apikeys_nosession USING btree (refresh_nbf);


--
-- Name: ix_apikeys_not_valid_before; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_apikeys_not_valid_before ON public.apikeys USING btree (not_valid_before);


--
-- Name: ix_groups_created_on; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_groups_created_on ON public.groups USING btree (created_on);


--
-- Name: ix_groups_group_role; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_groups_group_role ON public.groups USING btree (group_role);


--
-- Name: ix_groups_is_active; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_groups_is_active ON public.groups USING btree (is_active);


--
-- Name: ix_groups_last_updated; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_groups_last_updated ON public.groups USING btree (last_updated);


--
-- Name: ix_groups_system_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_groups_system_id ON public.groups USING btree (system_id);


--
-- Name: ix_groups_visibility; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_groups_visibility ON public.groups USING btree (visibility);


--
-- Name: ix_sessions_created; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_sessions_created ON public.sessions USING btree (created);


--
-- Name: ix_sessions_expires; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_sessions_expires ON public.sessions USING btree (expires);


--
-- Name: ix_users_created_on; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_users_created_on ON public.users USING btree (created_on);


--
-- Name: ix_users_email_verified; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_users_email_verified ON public.users USING btree (email_verified);


--
-- Name: ix_users_full_name; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_users_full_name ON public.users USING btree (full_name);


--
-- Name: ix_users_is_active; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_users_is_active ON public.users USING btree (is_active);


--
-- Name: ix_users_last_login_success; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_users_last_login_success ON public.users USING btree (last_login_success);


--
-- Name: ix_users_last_login_try; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_users_last_login_try ON public.users USING btree (last_login_try);


--
-- Name: ix_users_last_updated; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_users_last_updated ON public.users USING btree (last_updated);


--
-- Name: ix_users_system_id; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ix_users_system_id ON public.users USING btree (system_id);


--
-- Name: ix_users_user_role; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_users_user_role ON public.users USING btree (user_role);


--
-- Name: apikeys_nosession apikeys_nosession_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apikeys_nosession
    ADD CONSTRAINT apikeys_nosession_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(user_id) ON DELETE CASCADE;


--
-- Name: apikeys_nosession apikeys_nosession_user_role_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apikeys_nosession
    ADD CONSTRAINT apikeys_nosession_user_role_fkey FOREIGN KEY (user_role) REFERENCES public.roles(name) ON DELETE CASCADE;


--
-- Name: apikeys apikeys_session_token_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apikeys
    ADD CONSTRAINT apikeys_session_token_fkey FOREIGN KEY (session_token) REFERENCES public.sessions(session_token) ON DELETE CASCADE;


--
-- Name: apikeys apikeys_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apikeys
    ADD CONSTRAINT apikeys_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(user_id) ON DELETE CASCADE;


--
-- Name: apikeys apikeys_user_role_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apikeys
    ADD CONSTRAINT apikeys_user_role_fkey FOREIGN KEY (user_role) REFERENCES public.roles(name) ON DELETE CASCADE;


--
-- Name: groups groups_created_by_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.groups
    ADD CONSTRAINT groups_created_by_fkey FOREIGN KEY (created_by) REFERENCES public.users(user_id);


--
-- Name: groups groups_group_role_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.groups
    ADD CONSTRAINT groups_group_role_fkey FOREIGN KEY (group_role) REFERENCES public.roles(name);


--
-- Name: preferences preferences_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.preferences
    ADD CONSTRAINT preferences_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(user_id) ON DELETE CASCADE;


--
-- Name: sessions sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(user_id) ON DELETE CASCADE;


--
-- Name: user_groups user_groups_group_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_groups
    ADD CONSTRAINT user_groups_group_id_fkey FOREIGN KEY (group_id) REFERENCES public.groups(group_id) ON DELETE CASCADE;


--
-- Name: user_groups user_groups_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.user_groups
    ADD CONSTRAINT user_groups_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(user_id) ON DELETE CASCADE;


--
-- Name: users users_user_role_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_user_role_fkey FOREIGN KEY (user_role) REFERENCES public.roles(name);


--
-- PostgreSQL database dump complete
--

\unrestrict ftsphC179QH6buMxNbi71zfVheAzQJTQfjDWLZecOJ4qeSFF5WuZhGiByyiDwPe

