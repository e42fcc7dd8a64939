"""FAQ search (SD-4): Chinese bigram tokens in text[] + GIN, ranked with title matches first."""
from __future__ import annotations

import pytest

from service_desk import selectors, services
from service_desk.search import tokenize

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles():
    make = services.faq_article_save
    return {
        "return_title": make(title="退货需要什么凭证", body="凭小票在7天内到服务台办理。", category="products", published=True),
        "return_body": make(title="换货流程", body="如不能换货，可申请退货，退款原路返回。", category="products",
                            published=True),
        "expiry": make(title="积分过期规则", body="积分有效期24个月，过期前短信提醒。", category="points", published=True),
        "points": make(title="积分兑换", body="积分可以兑换礼品，不会因兑换而过期。", category="points", published=True),
        "draft": make(title="退货草稿", body="未发布", category="products", published=False),
        "parking": make(title="停车优惠", body="金卡会员免费停车两小时。", category="store", published=True),
    }


def test_tokenize_makes_unigrams_bigrams_and_words():
    """SD-4: characters and neighbouring pairs of CJK text; Latin words whole."""
    assert tokenize("积分过期 VIP") == ["积", "积分", "分", "分过", "过", "过期", "期", "vip"]


def test_faq_ranking_prefers_title_matches(articles):
    """SD-4: "退货" finds the article with it in the title first, then the one with it in the body."""
    results = list(selectors.faq_search("退货"))
    assert results[:2] == [articles["return_title"], articles["return_body"]]
    assert articles["draft"] not in results  # the portal sees published articles only
    assert articles["parking"] not in results


def test_faq_ranking_for_a_longer_query(articles):
    """SD-4: "积分过期" ranks the article titled with both words above one that mentions them in the body."""
    results = list(selectors.faq_search("积分过期"))
    assert results[0] == articles["expiry"]
    assert results[1] == articles["points"]
    assert results[0].score > results[1].score


def test_faq_staff_search_includes_drafts_and_empty_query_finds_nothing(articles):
    """SD-4: staff see unpublished articles too; an empty query returns nothing."""
    assert articles["draft"] in list(selectors.faq_search("退货", published_only=False))
    assert list(selectors.faq_search("   ")) == []


def test_faq_article_update_reindexes(articles):
    """SD-4: changing the text through the service changes what it is found by."""
    article = services.faq_article_save(article=articles["parking"], title="停车优惠", body="白金卡会员退货免运费",
                                        category="store", published=True)
    assert article in list(selectors.faq_search("退货"))
