"""Bearer tokens, inbox sessions and CSRF tokens (streams/inbox/auth.py)."""

from streams.inbox.auth import SESSION_MAX_AGE_MS, Session, bearer_ok, csrf_ok, csrf_token, same_origin

TOKEN = "s3cret-token-for-tests"
NOW = 1_800_000_000_000


def test_only_the_exact_bearer_token_passes():
    assert bearer_ok(f"Bearer {TOKEN}", TOKEN) and bearer_ok(f"bearer {TOKEN}", TOKEN)
    for header in (None, "", TOKEN, f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer "):
        assert not bearer_ok(header, TOKEN), header


def test_a_session_cookie_proves_the_name_until_it_expires_and_cannot_be_forged():
    cookie = Session("Ann Smith", NOW).cookie(TOKEN)
    assert TOKEN not in cookie
    assert Session.from_cookie(cookie, TOKEN, NOW + 1000) == Session("Ann Smith", NOW)
    assert Session.from_cookie(cookie, TOKEN, NOW + SESSION_MAX_AGE_MS + 1) is None
    assert Session.from_cookie(cookie, "another-token", NOW) is None, "rotating the token ends every session"
    name, issued, mac = cookie.split(".")
    forged = Session("Mallory", NOW).cookie("guess")
    assert Session.from_cookie(f"{forged.split('.')[0]}.{issued}.{mac}", TOKEN, NOW) is None
    assert Session.from_cookie(f"{name}.{NOW + 5}.{mac}", TOKEN, NOW + 10) is None
    for junk in (None, "", "a.b", "a.b.c.d", "!!.1.x"):
        assert Session.from_cookie(junk, TOKEN, NOW) is None


def test_csrf_tokens_belong_to_one_session():
    first, second = Session("Ann", NOW).cookie(TOKEN), Session("Ann", NOW + 1).cookie(TOKEN)
    assert csrf_ok(csrf_token(TOKEN, first), TOKEN, first)
    assert not csrf_ok(csrf_token(TOKEN, second), TOKEN, first)
    assert not csrf_ok(None, TOKEN, first) and not csrf_ok("", TOKEN, first)


def test_a_post_from_another_site_is_refused():
    assert same_origin("http://127.0.0.1:6066", "127.0.0.1:6066")
    assert same_origin(None, "127.0.0.1:6066")
    assert not same_origin("https://evil.example", "127.0.0.1:6066")
    assert not same_origin("null", "127.0.0.1:6066")
