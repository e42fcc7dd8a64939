"""SEC-3 (issue 12): no portal URL carries a database id, of the member or of anything else; objects are
named by POST fields or ?id= and looked up among the session member's own."""
from django.urls import URLPattern, URLResolver, get_resolver


def _portal_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        path = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _portal_patterns(entry, path)
        elif isinstance(entry, URLPattern) and path.startswith("portal/"):
            yield path, entry


def test_no_portal_path_takes_a_converter():
    found = list(_portal_patterns())
    assert len(found) > 30  # every portal app is mounted (members, points, service, care, amenities, engagement)
    offenders = [path for path, entry in found if entry.pattern.converters or "<" in path]
    assert offenders == []
