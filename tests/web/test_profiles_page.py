"""/profiles, the dashboard's behaviour profiles, over real HTTP against a running daemon: the list
and one workload's items for viewers; mode switches and accepting a profile alert's deviation for
admins with the session's CSRF token; clear pages for what cannot be done."""

from __future__ import annotations

from contextlib import closing
from urllib.parse import quote

from runwatch.profiles.model import Mode
from runwatch.store.base import AlertQuery
from tests.support.profiles import CLIENT, WEB
from tests.web.conftest import WebEnv
from tests.web.test_dashboard import csrf_of, sign_in
from tests.web.test_profiles_api import WORKER, learn


def test_viewers_see_every_profile_and_what_each_learned(web: WebEnv) -> None:
    learn(web)
    with closing(sign_in(web, web.viewer)) as viewer:
        listing = viewer.get("/profiles")
        assert listing.status_code == 200 and 'href="/profiles" class="active"' in listing.text
        for workload in (WEB, CLIENT, WORKER):
            assert f'href="/profiles/{quote(workload)}"' in listing.text
        assert '<span class="mode mode-monitor">monitor</span>' in listing.text  # the client
        page = viewer.get(f"/profiles/{quote(WEB)}")
        assert page.status_code == 200 and "tcp/8080" in page.text
        assert f"/api/profiles/{quote(WEB)}/export?format=kubearmor" in page.text
        assert 'action="/profiles/' not in page.text, "a viewer gets no forms"
        missing = viewer.get("/profiles/shop/db@postgres")
        assert missing.status_code == 404 and "no profile for workload" in missing.text
    with closing(sign_in(web, web.admin)) as admin:
        page = admin.get(f"/profiles/{quote(WEB)}")
        assert f'action="/profiles/{quote(WEB)}/mode"' in page.text


def test_an_admin_switches_a_mode_with_the_sessions_csrf_token(web: WebEnv) -> None:
    learn(web)
    with closing(sign_in(web, web.admin)) as admin:
        csrf = csrf_of(admin.get(f"/profiles/{quote(WEB)}"))
        forged = admin.post(f"/profiles/{quote(WEB)}/mode", data={"mode": "protect"})
        assert forged.status_code == 403
        switched = admin.post(f"/profiles/{quote(WEB)}/mode", data={"mode": "protect", "csrf": csrf})
        assert switched.status_code == 303 and switched.headers["location"] == f"/profiles/{quote(WEB)}"
        assert web.store.profiles.get(WEB).record.mode == Mode.PROTECT  # type: ignore[union-attr]
        bad = admin.post(f"/profiles/{quote(WEB)}/mode", data={"mode": "enforce", "csrf": csrf},
                         headers={"accept": "text/html"})  # as a browser: an error page
        assert bad.status_code == 400 and "unknown profile mode &#39;enforce&#39;" in bad.text
        assert bad.headers["content-type"].startswith("text/html")
    with closing(sign_in(web, web.viewer)) as viewer:
        csrf = csrf_of(viewer.get("/profiles"))
        refused = viewer.post(f"/profiles/{quote(WEB)}/mode", data={"mode": "learn", "csrf": csrf})
        assert refused.status_code == 403
    assert web.store.profiles.get(WEB).record.mode == Mode.PROTECT  # type: ignore[union-attr]


def test_a_profile_alerts_deviation_is_accepted_from_its_page(web: WebEnv) -> None:
    learn(web)
    found = [a for a in web.store.list_alerts(AlertQuery(limit=1000))
               if a.output_fields.get("profile.workload") == CLIENT
               and "4444" in str(a.output_fields.get("profile.items"))]
    alert = found[0]  # the store is the module's: each learn() flagged the call again
    before = len(web.store.profiles.get(CLIENT).items)  # type: ignore[union-attr]
    with closing(sign_in(web, web.admin)) as admin:
        page = admin.get(f"/alerts/{alert.id}")
        assert "Accept into profile" in page.text and f'href="/profiles/{quote(CLIENT)}"' in page.text
        accepted = admin.post("/profiles/accept-alert", data={"alert_id": alert.id,
                                                              "csrf": csrf_of(page)})
        assert accepted.status_code == 303
        assert accepted.headers["location"] == f"/alerts/{alert.id}?accepted=1"
        assert "the profile now allows this" in admin.get(accepted.headers["location"]).text
        profile = admin.get(f"/profiles/{quote(CLIENT)}")
        assert "tcp/4444 to 203.0.113.9" in profile.text and "accepted" in profile.text
        other = next(a for a in web.store.list_alerts(AlertQuery(limit=1000)) if "profile.workload" not in a.output_fields)
        assert "Accept into profile" not in admin.get(f"/alerts/{other.id}").text
        refused = admin.post("/profiles/accept-alert", data={"alert_id": other.id,
                                                             "csrf": csrf_of(page)})
        assert refused.status_code == 400 and "is not a profile deviation" in refused.text
    after = web.store.profiles.get(CLIENT).items  # type: ignore[union-attr]
    assert len(after) == before + 1
    assert [i.item for i in after if str(i.origin) == "accepted"] == [("203.0.113.9", "4444", "tcp")]


def test_an_image_diff_decision_is_a_form_post_of_accept_or_reject(web: WebEnv) -> None:
    learn(web)
    with closing(sign_in(web, web.admin)) as admin:
        csrf = csrf_of(admin.get(f"/profiles/{quote(WEB)}"))
        decided = admin.post(f"/profiles/{quote(WEB)}/diff", data={"decision": "reject", "csrf": csrf})
        assert decided.status_code == 303 and decided.headers["location"] == f"/profiles/{quote(WEB)}"
        odd = admin.post(f"/profiles/{quote(WEB)}/diff", data={"decision": "maybe", "csrf": csrf})
        assert odd.status_code == 422 and "decision" in odd.text
        unknown = admin.post("/profiles/shop/db@postgres/diff", data={"decision": "accept", "csrf": csrf})
        assert unknown.status_code == 400 and "shop/db@postgres" in unknown.text


def test_an_admin_forgets_an_item_from_the_profile_page(web: WebEnv) -> None:
    learn(web)
    with closing(sign_in(web, web.admin)) as admin:
        page = admin.get(f"/profiles/{quote(WEB)}")
        assert f'action="/profiles/{quote(WEB)}/forget"' in page.text
        assert '<input type="hidden" name="field" value="8080">' in page.text
        done = admin.post(f"/profiles/{quote(WEB)}/forget", data={
            "kind": "listen", "field": ["8080", "tcp"], "csrf": csrf_of(page)})
        assert done.status_code == 303 and done.headers["location"] == f"/profiles/{quote(WEB)}"
        assert 'mono small">tcp/8080</td>' not in admin.get(done.headers["location"]).text
    items = web.store.profiles.get(WEB).items  # type: ignore[union-attr]
    assert ("8080", "tcp") not in [i.item for i in items if str(i.kind) == "listen"]
