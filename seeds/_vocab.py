"""Vocabulary of the demo mall: store types, their product taxonomy, colours and store names.

Kept apart from the generator so the numbers a product owner might want to tune (price bands,
share of items on sale, which categories complement which) live in one readable table.
Everything here is invented; any resemblance to a real brand is accidental.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

GENDER_TARGETS: Final = ("women", "men", "unisex", "kids")

# Subcategories sold to women only whatever their category's gender mix says.
WOMEN_ONLY: Final = frozenset({"Blouse", "Skirt", "Heels", "Sports Bra", "Leggings", "Handbag"})


@dataclass(frozen=True)
class CategorySpec:
    """One product category sold by one store type.

    ``subcategories`` holds ``(english, chinese)`` nouns so item names can be generated in either
    language; ``gender_p`` is the probability of each value of ``GENDER_TARGETS``; prices are drawn
    log-normally around ``price_median`` (the shape of real retail price lists: many cheap items,
    a long tail of expensive ones).
    """

    name: str
    weight: float
    subcategories: tuple[tuple[str, str], ...]
    price_median: float
    price_sigma: float
    gender_p: tuple[float, float, float, float]
    coloured: bool = True


@dataclass(frozen=True)
class StoreTypeSpec:
    """A kind of store: its share of the mall, its categories, style vocabulary and name parts."""

    name: str
    share: float
    categories: tuple[CategorySpec, ...]
    styles: tuple[str, ...]
    name_prefixes: tuple[str, ...]
    name_suffixes: tuple[str, ...]
    adjectives: tuple[str, ...] = ("Classic", "Everyday", "Essential", "Signature", "Premium")
    # Appended to some item names; the commas and quotes make uploads exercise CSV quoting.
    item_suffixes: tuple[str, ...] = ("", "", "", "", "", ", 2-Pack", ' "Limited"')
    mirrors: int = 0


# The tables below are data, laid out as tables; the formatter would put every word on its own line.
# fmt: off
_APPAREL_W: Final = (0.50, 0.35, 0.15, 0.0)
_SPORT_W: Final = (0.36, 0.36, 0.28, 0.0)
_UNI: Final = (0.0, 0.0, 1.0, 0.0)
_KIDS: Final = (0.0, 0.0, 0.0, 1.0)
_APPAREL_ADJ: Final = ("Relaxed", "Classic", "Everyday", "Essential", "Cropped", "Oversized", "Slim", "Soft",
                        "Organic", "Signature", "Lightweight", "Heritage", "Studio", "Premium")

FASHION: Final = StoreTypeSpec(
    name="fashion",
    share=0.35,
    mirrors=2,
    adjectives=_APPAREL_ADJ,
    item_suffixes=("", "", "", "", "", ", Slim Fit", ", Relaxed Fit", ' "Limited"'),
    styles=("casual", "formal", "streetwear", "minimal", "boho", "classic", "vintage", "romantic",
            "preppy", "edgy", "business"),
    name_prefixes=("Linen", "Maison", "Urban", "Cobalt", "Atelier", "Velvet", "Northbound", "Juniper",
                   "Saffron", "Indigo", "Marlowe", "Hazel", "Oak", "Solène", "Kite"),
    name_suffixes=("& Loom", "Denim", "Studio", "Collective", "Supply Co.", "Boutique", "Outfitters"),
    categories=(
        CategorySpec("tops", 0.26, (("T-Shirt", "T恤"), ("Blouse", "衬衫"), ("Oxford Shirt", "牛津衬衫"),
                                    ("Sweater", "毛衣"), ("Hoodie", "连帽卫衣"), ("Tank Top", "背心")),
                     35.0, 0.45, _APPAREL_W),
        CategorySpec("bottoms", 0.20, (("Jeans", "牛仔裤"), ("Chinos", "休闲裤"), ("Skirt", "半身裙"),
                                       ("Shorts", "短裤"), ("Trousers", "西裤"), ("Leggings", "打底裤")),
                     55.0, 0.40, _APPAREL_W),
        CategorySpec("dresses", 0.12, (("Midi Dress", "中长裙"), ("Maxi Dress", "长裙"),
                                       ("Shirt Dress", "衬衫裙"), ("Wrap Dress", "裹身裙")),
                     79.0, 0.45, (1.0, 0.0, 0.0, 0.0)),
        CategorySpec("shoes", 0.16, (("Sneakers", "运动鞋"), ("Loafers", "乐福鞋"), ("Ankle Boots", "短靴"),
                                     ("Sandals", "凉鞋"), ("Heels", "高跟鞋")),
                     89.0, 0.40, _APPAREL_W),
        CategorySpec("outerwear", 0.12, (("Trench Coat", "风衣"), ("Denim Jacket", "牛仔夹克"),
                                         ("Puffer Jacket", "羽绒服"), ("Blazer", "西装外套")),
                     139.0, 0.45, _APPAREL_W),
        CategorySpec("accessories", 0.14, (("Belt", "腰带"), ("Scarf", "围巾"), ("Handbag", "手提包"),
                                           ("Cap", "棒球帽"), ("Sunglasses", "太阳镜")),
                     32.0, 0.60, (0.55, 0.25, 0.20, 0.0)),
    ),
)

SPORTS: Final = StoreTypeSpec(
    name="sports",
    share=0.15,
    mirrors=1,
    adjectives=("Performance", "Lightweight", "Breathable", "Pro", "Essential", "Seamless"),
    item_suffixes=("", "", "", "", ", 2-Pack", ' "Race Day"'),
    styles=("sporty", "performance", "outdoor", "athleisure", "running", "yoga", "training"),
    name_prefixes=("Summit", "Stride", "Peak", "Apex", "Tempo", "Ridge", "Pulse", "Trailhead"),
    name_suffixes=("Sports", "Athletics", "Outdoor", "Run Club", "Gear"),
    categories=(
        CategorySpec("tops", 0.22, (("Training Tee", "训练T恤"), ("Sports Bra", "运动内衣"),
                                    ("Running Top", "跑步上衣")), 29.0, 0.35, _SPORT_W),
        CategorySpec("bottoms", 0.18, (("Running Shorts", "跑步短裤"), ("Leggings", "运动紧身裤"),
                                       ("Track Pants", "运动长裤")), 39.0, 0.35, _SPORT_W),
        CategorySpec("shoes", 0.22, (("Running Shoes", "跑鞋"), ("Trail Shoes", "越野跑鞋"),
                                     ("Court Shoes", "网球鞋")), 109.0, 0.35, _SPORT_W),
        CategorySpec("outerwear", 0.12, (("Track Jacket", "运动夹克"), ("Rain Shell", "冲锋衣"),
                                         ("Fleece", "抓绒衣")), 99.0, 0.40, _SPORT_W),
        CategorySpec("accessories", 0.10, (("Sports Cap", "运动帽"), ("Backpack", "双肩包"),
                                           ("Socks", "运动袜")), 25.0, 0.50, (0.2, 0.2, 0.6, 0.0)),
        CategorySpec("equipment", 0.16, (("Yoga Mat", "瑜伽垫"), ("Dumbbells", "哑铃"),
                                         ("Tennis Racket", "网球拍"), ("Water Bottle", "运动水壶")),
                     45.0, 0.70, _UNI),
    ),
)

BEAUTY: Final = StoreTypeSpec(
    name="beauty",
    adjectives=("Hydrating", "Radiant", "Gentle", "Daily", "Velvet", "Overnight", "Pure"),
    share=0.15,
    styles=("natural", "vegan", "luxury", "minimal", "fresh", "bold"),
    name_prefixes=("Glow", "Bloom", "Lumière", "Petal", "Aura", "Dewdrop", "Jade"),
    name_suffixes=("Beauty", "Apothecary", "Cosmetics", "Skin Lab", "Parfumerie"),
    categories=(
        CategorySpec("skincare", 0.32, (("Serum", "精华液"), ("Moisturiser", "保湿霜"),
                                        ("Cleanser", "洁面乳"), ("Sunscreen", "防晒霜")),
                     38.0, 0.50, (0.70, 0.08, 0.22, 0.0), coloured=False),
        CategorySpec("makeup", 0.30, (("Lipstick", "口红"), ("Foundation", "粉底液"),
                                      ("Mascara", "睫毛膏"), ("Eyeshadow Palette", "眼影盘")),
                     29.0, 0.45, (0.92, 0.0, 0.08, 0.0)),
        CategorySpec("fragrance", 0.18, (("Eau de Parfum", "香水"), ("Body Mist", "身体喷雾")),
                     85.0, 0.45, (0.55, 0.25, 0.20, 0.0), coloured=False),
        CategorySpec("haircare", 0.20, (("Shampoo", "洗发水"), ("Hair Oil", "护发精油"),
                                        ("Conditioner", "护发素")),
                     19.0, 0.40, (0.45, 0.10, 0.45, 0.0), coloured=False),
    ),
)

KIDS: Final = StoreTypeSpec(
    name="kids",
    adjectives=("Happy", "Little", "Cosy", "Rainbow", "Dino", "Starry"),
    share=0.10,
    styles=("playful", "casual", "educational", "cosy", "classic"),
    name_prefixes=("Little", "Tiny", "Sprout", "Pebble", "Kite & Co"),
    name_suffixes=("Kids", "Toys", "Playhouse", "& Friends"),
    categories=(
        CategorySpec("kids_clothing", 0.40, (("Romper", "连体衣"), ("Kids Hoodie", "儿童卫衣"),
                                             ("Pyjamas", "睡衣")), 25.0, 0.35, _KIDS),
        CategorySpec("kids_shoes", 0.15, (("Light-up Sneakers", "闪灯童鞋"), ("Rain Boots", "雨靴")),
                     39.0, 0.30, _KIDS),
        CategorySpec("toys", 0.35, (("Building Blocks", "积木"), ("Plush Bear", "毛绒熊"),
                                    ("Puzzle", "拼图"), ("Toy Car", "玩具车")), 24.0, 0.60, _KIDS),
        CategorySpec("books", 0.10, (("Picture Book", "绘本"), ("Sticker Book", "贴纸书")),
                     12.0, 0.35, _KIDS, coloured=False),
    ),
)

ELECTRONICS: Final = StoreTypeSpec(
    name="electronics",
    adjectives=("Pro", "Mini", "Ultra", "Max", "Lite", "Plus"),
    share=0.10,
    styles=("minimal", "gaming", "premium", "compact", "smart"),
    name_prefixes=("Volt", "Circuit", "Pixel", "Nimbus", "Quanta"),
    name_suffixes=("Electronics", "Tech", "Digital", "Store"),
    categories=(
        CategorySpec("phones", 0.20, (("Smartphone", "智能手机"), ("Phone Case", "手机壳")),
                     249.0, 1.00, _UNI),
        CategorySpec("audio", 0.25, (("Wireless Earbuds", "无线耳机"), ("Headphones", "头戴式耳机"),
                                     ("Bluetooth Speaker", "蓝牙音箱")), 79.0, 0.60, _UNI),
        CategorySpec("wearables", 0.15, (("Smartwatch", "智能手表"), ("Fitness Band", "运动手环")),
                     149.0, 0.50, _UNI),
        CategorySpec("computers", 0.15, (("Laptop", "笔记本电脑"), ("Tablet", "平板电脑")),
                     699.0, 0.50, _UNI),
        CategorySpec("chargers", 0.25, (("USB-C Cable", "数据线"), ("Power Bank", "充电宝"),
                                        ("Wall Charger", "充电器")), 19.0, 0.50, _UNI),
    ),
)

FOOD: Final = StoreTypeSpec(
    name="food",
    adjectives=("House", "Fresh", "Classic", "Homemade", "Signature", "Seasonal"),
    item_suffixes=("", "", "", "", ", Large", ", Set of 6", ' "Chef\'s Pick"'),
    share=0.15,
    styles=("sweet", "savoury", "vegan", "spicy", "healthy", "indulgent"),
    name_prefixes=("Bean", "Crumb", "Tea", "Noodle", "Dumpling", "Golden", "茶语"),
    name_suffixes=("House", "Bar", "Kitchen", "Bakery", "Café"),
    categories=(
        CategorySpec("coffee", 0.22, (("Flat White", "馥芮白"), ("Latte", "拿铁"), ("Cold Brew", "冷萃咖啡")),
                     4.5, 0.20, _UNI, coloured=False),
        CategorySpec("bakery", 0.22, (("Croissant", "可颂"), ("Egg Tart", "蛋挞"), ("Sourdough", "酸面包")),
                     3.8, 0.30, _UNI, coloured=False),
        CategorySpec("meals", 0.26, (("Noodle Bowl", "汤面"), ("Dumplings", "饺子"), ("Rice Bowl", "盖饭")),
                     11.0, 0.30, _UNI, coloured=False),
        CategorySpec("drinks", 0.18, (("Bubble Tea", "珍珠奶茶"), ("Fresh Juice", "鲜榨果汁")),
                     5.0, 0.25, _UNI, coloured=False),
        CategorySpec("desserts", 0.12, (("Mango Pudding", "芒果布丁"), ("Cheesecake", "芝士蛋糕")),
                     6.0, 0.30, _UNI, coloured=False),
    ),
)

STORE_TYPES: Final = (FASHION, SPORTS, BEAUTY, KIDS, ELECTRONICS, FOOD)
STORE_TYPE_BY_NAME: Final = {spec.name: spec for spec in STORE_TYPES}

# Which categories a shopper would plausibly buy next to an item of the key category; the
# generator declares complements within the same store only, as a merchandiser would.
COMPLEMENTS: Final[dict[str, tuple[str, ...]]] = {
    "tops": ("bottoms", "outerwear", "shoes", "accessories"),
    "bottoms": ("tops", "shoes", "outerwear", "accessories"),
    "dresses": ("shoes", "outerwear", "accessories"),
    "shoes": ("bottoms", "accessories", "dresses"),
    "outerwear": ("tops", "bottoms", "accessories"),
    "accessories": ("tops", "dresses", "outerwear"),
    "equipment": ("accessories", "tops"),
    "skincare": ("makeup", "haircare"),
    "makeup": ("skincare", "fragrance"),
    "fragrance": ("makeup", "skincare"),
    "haircare": ("skincare",),
    "kids_clothing": ("kids_shoes", "toys"),
    "kids_shoes": ("kids_clothing",),
    "toys": ("books",),
    "books": ("toys",),
    "phones": ("chargers", "audio"),
    "audio": ("chargers", "phones"),
    "wearables": ("chargers", "phones"),
    "computers": ("chargers", "audio"),
    "chargers": ("phones",),
    "coffee": ("bakery", "desserts"),
    "bakery": ("coffee", "drinks"),
    "meals": ("drinks", "desserts"),
    "drinks": ("bakery", "meals"),
    "desserts": ("coffee", "drinks"),
}

# (english, chinese, weight): neutrals dominate real assortments.
COLOURS: Final = (
    ("black", "黑色", 14), ("white", "白色", 11), ("navy", "藏青色", 8), ("grey", "灰色", 8),
    ("beige", "米色", 7), ("camel", "驼色", 4), ("brown", "棕色", 4), ("olive", "橄榄绿", 4),
    ("khaki", "卡其色", 4), ("red", "红色", 4), ("burgundy", "酒红色", 3), ("pink", "粉色", 4),
    ("lavender", "薰衣草紫", 2), ("sky blue", "天蓝色", 3), ("denim blue", "牛仔蓝", 5),
    ("green", "绿色", 3), ("mustard", "芥末黄", 2), ("cream", "奶油色", 4), ("silver", "银色", 2),
    ("gold", "金色", 2),
)

# fmt: on
