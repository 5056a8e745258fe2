"""Each cleaning rule on a small line of the kind of source it serves."""

from __future__ import annotations

import pytest

from vectorstore.cleaning import Profile, clean_line, despin, detect_profile

WEB = Profile(web_page=True, translate_widget=True)
PLAIN = Profile()


@pytest.mark.parametrize(
    "raw",
    [
        "[智能机器人](#)[无障碍浏览](#)[适老版](#)[长者专区](#)[繁體](#)[统一用户登录](#)",
        "[收藏](#) 【 [打印](#)】",
        "网站标识码：5103000007",
        "蜀ICP备12013989号",
        " 川公网安备 51030002000008号",
        "译",
    ],
)
def test_web_chrome_and_stray_yi_lines_are_dropped(raw: str) -> None:
    cleaned = clean_line(raw, WEB)
    assert cleaned.text == "" and cleaned.noise


def test_glued_yi_is_removed_but_words_with_yi_stay() -> None:
    line = "引进译地天溯医疗服务机器人，审批，译健全完善。译 翻译服务"
    assert clean_line(line, WEB).text == "引进地天溯医疗服务机器人，审批，健全完善。翻译服务"
    # Without a translate widget on the page, 译 is just a character.
    assert clean_line("引进译地天溯", PLAIN).text == "引进译地天溯"


def test_a_sentence_mentioning_a_shop_sign_is_not_web_chrome() -> None:
    assert clean_line("新增“四川老字号”7家。", WEB).text == "新增“四川老字号”7家。"


def test_footnote_markers_are_removed_and_remembered() -> None:
    cleaned = clean_line("争取“两重”“两新”^[1]资金7.97亿元，“4+3”产业[5]建圈强链", PLAIN)
    assert cleaned.text == "争取“两重”“两新”资金7.97亿元，“4+3”产业建圈强链"
    assert cleaned.footnotes == (1, 5)
    assert clean_line("见[2020]号文", PLAIN).text == "见[2020]号文"
    alone = clean_line("[7]", PLAIN)
    assert alone.text == "" and alone.footnotes == (7,)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("全年地区生产总值增长 3.9%、高于全省 0.1 个百分点", "全年地区生产总值增长3.9%、高于全省0.1个百分点"),
        ("年净增规模以上工业企业 42 户，创近年新高", "年净增规模以上工业企业42户，创近年新高"),
        ("2021 年 2月 5 日", "2021年2月5日"),
        ("政 府 工 作 报 告", "政府工作报告"),
        ("The People's Government of Zigong", "The People's Government of Zigong"),
    ],
)
def test_spaces_inside_numbers_and_chinese_are_removed(raw: str, clean: str) -> None:
    assert clean_line(raw, PLAIN).text == clean


def test_a_full_stop_between_digits_is_a_decimal_point_unless_a_year_follows() -> None:
    assert clean_line("托位数已达4。02个，指数达到62。93%", PLAIN).text == "托位数已达4.02个，指数达到62.93%"
    assert clean_line("开工项目103。2024年将继续", PLAIN).text == "开工项目103。2024年将继续"


def test_half_width_punctuation_in_chinese_becomes_full_width() -> None:
    assert clean_line("(三)深化融合发展,促进城乡共同繁荣", PLAIN).text == "（三）深化融合发展，促进城乡共同繁荣"
    assert clean_line("收入1,000元(约)", PLAIN).text == "收入1,000元（约）"
    assert clean_line("(上接06版)大力发展现代服务业。", PLAIN).text == "大力发展现代服务业。"


def test_a_lone_page_number_is_dropped() -> None:
    assert clean_line("24", PLAIN).noise == "page number"


def test_despin_restores_the_original_words_and_protects_genuine_ones() -> None:
    text, swaps = despin("自贡市以斑斓自贡扶植为统领，统筹推进高质量成长，平易近生温度，取得成效，取现代创意")
    assert text == "自贡市以美丽自贡建设为统领，统筹推进高质量发展，民生温度，取得成效，与现代创意"
    assert swaps == 5
    # One pass: 增加 (spun 增长) and 添加 (spun 增加) do not chain into each other.
    assert despin("规上工业添加值增加15.3%")[0] == "规上工业增加值增长15.3%"


def test_rewriting_is_detected_by_its_signature_words_not_by_name() -> None:
    spun = ["自贡以立异为引擎，正在“老树新枝”取“新芽成林”的协同成长中，扶植现代化财产系统，平易近生改善。"] * 3
    official = ["全市地区生产总值增长7.1%，居全省第2位；规模以上工业增加值增长15.3%、居全省第1位。"] * 3
    assert detect_profile(spun).rewritten
    assert not detect_profile(official).rewritten
