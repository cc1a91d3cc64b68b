"""Interface text of the map, per language."""

from __future__ import annotations

TEXT = {
    "zh": {
        "indicator": "指标",
        "townships": "乡镇（街道）",
        "counties": "县区界",
        "sites": "站点",
        "sources": "数据来源",
        "schematic": "示意数据：乡镇边界和站点、村庄位置为生成的示意位置，并非真实位置；名称、代码和数量为真实数据。",
        "search": "搜索乡镇或村（社区）",
        "no_results": "未找到",
        "no_data": "无数据",
        "yes": "是",
        "no": "否",
        "lang": "zh",
        "details_loading": "村（社区）名称加载中…",
        "details_missing": "未找到村（社区）名称：请把 map_data 文件夹与本页放在同一文件夹中",
        "reset": "回到全图",
        "fullscreen": "全屏",
        "radius": "服务半径 {radius} 公里",
        "tianditu": "天地图",
        "amap": "高德地图",
    },
    "en": {
        "indicator": "Indicator",
        "townships": "Townships",
        "counties": "County borders",
        "sites": "Sites",
        "sources": "Sources",
        "schematic": "Schematic data: township outlines and the positions of sites and villages are generated, "
        "not real; names, codes and counts are real.",
        "search": "Search township or village",
        "no_results": "Nothing found",
        "no_data": "no data",
        "yes": "yes",
        "no": "no",
        "lang": "en",
        "details_loading": "Loading village names…",
        "details_missing": "Village names not found: keep the map_data folder next to this page",
        "reset": "Show everything",
        "fullscreen": "Full screen",
        "radius": "Coverage radius {radius} km",
        "tianditu": "Tianditu",
        "amap": "Amap",
    },
}
