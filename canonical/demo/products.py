"""What a North American MRO / building-products distributor stocks: templates expanded into products."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import product as cartesian

from canonical.demo.rand import DemoRandom
from canonical.models import ProductStatus

PIPE = ['1/2"', '3/4"', '1"', '1-1/4"', '1-1/2"', '2"', '3"', '4"']
SMALL_PIPE = ['1/2"', '3/4"', '1"', '1-1/4"', '1-1/2"', '2"']
CONDUIT = ['1/2"', '3/4"', '1"', '1-1/4"', '1-1/2"', '2"']
THREADS = ["1/4-20", "5/16-18", "3/8-16", "1/2-13", "5/8-11"]
LENGTHS = ['3/4"', '1"', '1-1/2"', '2"', '3"', '4"']
DEVICE_COLOURS = ["White", "Ivory", "Light Almond", "Black", "Gray"]
WIRE_COLOURS = ["Black", "White", "Red", "Green", "Blue"]
GLOVE_SIZES = ["S", "M", "L", "XL", "2XL"]
DUCT = ['4"', '5"', '6"', '7"', '8"', '10"', '12"']
FILTERS = ["16x20x1", "16x25x1", "20x20x1", "20x25x1", "16x25x2", "20x25x4", "20x20x4"]

# prefix: (category, supplier system code, brands, [(template, attribute lists, UoM, (low, high) price, kg, big)])
# Price runs from low to high along the first attribute list; "big" items are often drop-shipped.
CATALOGUE: dict[str, tuple[str, str, list[str], list[tuple]]] = {
    "PLB": ("Plumbing", "acme-supply", ["ProFlow", "AquaLine", "Keystone Brass", "Sterling"], [
        ("{1} {0}", [PIPE, ["Black Iron 90° Elbow", "Black Iron Tee", "Galvanized Coupling", "Galvanized Close Nipple",
                           "Brass Hex Bushing"]], "EA", (1.5, 48), 0.2, False),
        ("Copper 90° Elbow C x C {0}", [PIPE], "EA", (1.1, 42), 0.05, False),
        ("Copper Tee C x C x C {0}", [PIPE], "EA", (1.9, 66), 0.08, False),
        ("Copper Coupling with Stop {0}", [PIPE], "EA", (0.6, 24), 0.03, False),
        ("Copper Male Adapter C x MIP {0}", [PIPE], "EA", (1.8, 55), 0.05, False),
        ("PVC Sch 40 90° Elbow {0}", [PIPE], "EA", (0.4, 9), 0.04, False),
        ("PVC Sch 40 Tee {0}", [PIPE], "EA", (0.5, 12), 0.05, False),
        ("PVC Sch 80 Union {0}", [PIPE], "EA", (4.5, 68), 0.12, False),
        ("CPVC CTS 90° Elbow {0}", [SMALL_PIPE], "EA", (0.5, 6), 0.02, False),
        ("PEX Crimp Elbow {0}", [SMALL_PIPE[:4]], "EA", (0.8, 5), 0.02, False),
        ("PEX-A Tubing {1} {0} x 100ft Coil", [SMALL_PIPE[:4], ["Red", "Blue", "White"]], "RL", (38, 190), 4.0, False),
        ("Type L Copper Pipe {0} x 10ft", [PIPE], "EA", (18, 310), 3.0, False),
        ("Brass Ball Valve Full Port {0}", [PIPE], "EA", (9, 240), 0.4, False),
        ("Bronze Gate Valve Threaded {0}", [PIPE], "EA", (16, 320), 0.6, False),
        ("Swing Check Valve Threaded {0}", [PIPE], "EA", (14, 260), 0.5, False),
        ("Dielectric Union {0}", [SMALL_PIPE], "EA", (7, 36), 0.3, False),
        ("Push-to-Connect Coupling {0}", [SMALL_PIPE[:4]], "EA", (7, 26), 0.1, False),
        ("Water Heater {0} gal {1}", [["40", "50", "75"], ["Natural Gas", "Electric", "Propane"]], "EA", (690, 1900), 60, True),
        ("Tankless Water Heater {0}k BTU Indoor", [["160", "180", "199"]], "EA", (1150, 1750), 25, True),
        ("Sump Pump {0} HP Submersible", [["1/3", "1/2", "3/4"]], "EA", (140, 390), 9, False),
        ("Lavatory Faucet Single Handle {0}", [["Chrome", "Brushed Nickel", "Matte Black"]], "EA", (58, 140), 1.5, False),
    ]),
    "ELE": ("Electrical", "northwind-supply", ["Voltline", "Brightway", "Arcmaster", "Lumenex"], [
        ("Cable Tie {0} {1} (bag of 100)", [['4"', '8"', '11"', '14"'], ["Natural", "Black UV"]], "BG", (3, 19), 0.2, False),
        ("Twist-On Wire Connector {0} (box of 100)", [["Gray", "Blue", "Orange", "Yellow", "Red", "Tan"]], "BX", (7, 16), 0.3, False),
        ("Junction Box {0}", [['4" Square 1-1/2" Deep', '4" Square 2-1/8" Deep', 'Octagon 4"', "1-Gang Old Work",
                             "2-Gang New Work"]], "EA", (1.5, 6), 0.2, False),
        ("THHN Copper Wire {0} AWG {1} 500ft Spool", [["14", "12", "10", "8", "6"], WIRE_COLOURS], "RL", (48, 520), 8, False),
        ("NM-B Cable {0} with Ground 250ft", [["14/2", "12/2", "10/2", "14/3", "12/3"]], "RL", (78, 340), 9, False),
        ("EMT Conduit {0} x 10ft", [CONDUIT], "EA", (6, 48), 2.0, False),
        ("EMT Set Screw Connector {0}", [CONDUIT], "EA", (0.4, 6), 0.05, False),
        ("EMT Compression Coupling {0}", [CONDUIT], "EA", (0.8, 9), 0.06, False),
        ("PVC Conduit Sch 40 {0} x 10ft", [CONDUIT], "EA", (4, 26), 1.5, False),
        ("Liquidtight Flexible Conduit {0} x 100ft", [CONDUIT[:4]], "RL", (95, 380), 12, False),
        ("Duplex Receptacle 15A Tamper Resistant {0}", [DEVICE_COLOURS], "EA", (1.4, 2.4), 0.08, False),
        ("GFCI Receptacle 20A {0}", [DEVICE_COLOURS], "EA", (17, 24), 0.15, False),
        ("Single Pole Switch 15A {0}", [DEVICE_COLOURS], "EA", (1.1, 1.9), 0.06, False),
        ("Decora Wall Plate {0}-Gang {1}", [["1", "2", "3", "4"], DEVICE_COLOURS], "EA", (0.9, 5), 0.03, False),
        ("Circuit Breaker {0}-Pole {1}A Plug-on", [["1", "2"], ["15", "20", "30", "40", "50"]], "EA", (9, 65), 0.25, False),
        ("Load Center {0}A {1}-Space Indoor", [["100", "200"], ["20", "30", "40"]], "EA", (95, 420), 14, True),
        ("LED Troffer 2x4 {0} lm {1}", [["4000", "5000", "6500"], ["3500K", "4000K", "5000K"]], "EA", (62, 118), 6, False),
        ("LED High Bay {0}W {1}", [["100", "150", "200", "240"], ["4000K", "5000K"]], "EA", (105, 260), 4, False),
        ("LED A19 Lamp 9W {0} (case of 24)", [["2700K", "3000K", "4000K", "5000K"]], "CS", (48, 60), 1.5, False),
        ("Multi-Tap Transformer {0} kVA", [["15", "30", "45", "75"]], "EA", (1650, 5200), 120, True),
    ]),
    "HVC": ("HVAC", "acme-supply", ["AirCore", "Climatek", "NorthStar", "Polar"], [
        ("Register {0} {1}", [["4x10", "4x12", "6x10", "6x12"], ["Floor Steel", "Sidewall", "Ceiling 3-Way"]], "EA", (5, 16), 0.5, False),
        ("Insulated Flex Duct R6 {0} x 25ft", [DUCT], "EA", (38, 96), 3, False),
        ("Round Pipe 30ga {0} x 5ft", [DUCT], "EA", (8, 26), 1.5, False),
        ("Adjustable Elbow 26ga {0}", [DUCT], "EA", (6, 19), 0.5, False),
        ("Pleated Air Filter MERV {0} {1} (case of 12)", [["8", "11", "13"], FILTERS], "CS", (38, 180), 3, False),
        ("Refrigerant R-{0} 25 lb Cylinder", [["410A", "454B", "32"]], "EA", (280, 520), 12, False),
        ("Run Capacitor Dual {0} MFD 440V", [["35/5", "40/5", "45/5", "50/5", "55/5"]], "EA", (14, 32), 0.2, False),
        ("Contactor {0}-Pole 30A 24V Coil", [["1", "2", "3"]], "EA", (12, 34), 0.3, False),
        ("Condensate Pump {0}V", [["115", "230"]], "EA", (58, 92), 1.5, False),
        ("Programmable Thermostat {0}", [["7-Day", "5-2 Day", "Wi-Fi", "Heat Pump 7-Day"]], "EA", (45, 210), 0.4, False),
        ("Line Set {0} x 50ft Insulated", [['1/4" x 3/8"', '3/8" x 3/4"', '3/8" x 7/8"']], "EA", (130, 310), 8, False),
        ("Split System Condenser {0} Ton 16 SEER2", [["2", "2.5", "3", "4", "5"]], "EA", (2350, 4900), 90, True),
        ("Gas Furnace {0}k BTU 96% AFUE", [["60", "80", "100", "120"]], "EA", (1450, 2600), 60, True),
    ]),
    "FST": ("Fasteners", "acme-supply", ["Boltex", "Ironclad", "FastenPro", "Anchorline"], [
        ("Lag Screw Hex Zinc {0} x {1} (box of 50)", [['1/4"', '5/16"', '3/8"'], LENGTHS[1:]], "BX", (7, 39), 1.4, False),
        ("Beam Clamp {0}", [THREADS[:4]], "EA", (2, 9), 0.2, False),
        ("Hex Cap Screw Grade {1} Zinc {0} x {2} (box of 50)", [THREADS, ["5", "8"], LENGTHS], "BX", (8, 95), 1.5, False),
        ("Hex Nut Grade 5 Zinc {0} (box of 100)", [THREADS], "BX", (6, 38), 1.2, False),
        ("Flat Washer SAE Zinc {0} (box of 100)", [['1/4"', '5/16"', '3/8"', '1/2"', '5/8"']], "BX", (3, 21), 0.6, False),
        ("Concrete Wedge Anchor {0} x {1} (box of 25)", [['3/8"', '1/2"', '5/8"'], LENGTHS[2:]], "BX", (14, 88), 2, False),
        ("Threaded Rod Zinc {0} x 10ft", [THREADS], "EA", (5, 34), 1.8, False),
        ("Strut Channel 1-5/8\" {0} x 10ft", [["12ga Pre-Galv", "14ga Pre-Galv", "12ga HDG", "12ga Slotted"]], "EA", (28, 64), 9, False),
        ("Strut Spring Nut {0} (box of 50)", [THREADS[:4]], "BX", (22, 58), 1, False),
        ("Self-Drilling Screw #{0} x {1} Hex Washer (box of 500)", [["8", "10", "12"], LENGTHS[:3]], "BX", (16, 48), 2, False),
        ("Drywall Screw Coarse #6 x {0} (5 lb)", [['1-1/4"', '1-5/8"', '2"', '2-1/2"', '3"']], "BX", (18, 29), 2.3, False),
    ]),
    "SAF": ("Safety", "acme-supply", ["SafeGuard", "ShieldPro", "Vigilant", "Armorline"], [
        ("Nitrile Disposable Gloves 5 mil {0} (box of 100)", [GLOVE_SIZES], "BX", (11, 14), 0.6, False),
        ("Cut-Resistant Gloves ANSI A4 {0}", [GLOVE_SIZES], "PR", (7, 9), 0.1, False),
        ("Safety Glasses {0}", [["Clear Anti-Fog", "Smoke", "Amber", "Indoor/Outdoor Mirror"]], "EA", (3, 9), 0.05, False),
        ("Hard Hat Type I Class E {0}", [["White", "Yellow", "Orange", "Blue", "Green"]], "EA", (14, 22), 0.4, False),
        ("Hi-Vis Safety Vest Class 2 {0}", [["M", "L", "XL", "2XL", "3XL"]], "EA", (9, 14), 0.2, False),
        ("N95 Respirator (box of 20)", [[""]], "BX", (24, 24), 0.3, False),
        ("Foam Ear Plugs NRR 32 (box of 200)", [[""]], "BX", (29, 29), 0.8, False),
        ("First Aid Kit ANSI {0}", [["Class A 25-Person", "Class B 50-Person"]], "EA", (42, 96), 2, False),
        ("Fire Extinguisher ABC {0} lb", [["5", "10", "20"]], "EA", (48, 130), 7, False),
        ("Full Body Harness {0}", [["S/M", "L/XL", "2XL"]], "EA", (78, 96), 1.6, False),
    ]),
    "TLS": ("Tools", "northwind-supply", ["Torque", "Craftline", "Ridgeback", "Benchmark"], [
        ("Pipe Wrench {0}", [['10"', '14"', '18"', '24"', '36"']], "EA", (24, 120), 2, False),
        ("Tubing Cutter {0}", [['1/8" - 1-1/8"', '1/4" - 1-5/8"', '1/4" - 2-5/8"']], "EA", (14, 62), 0.4, False),
        ("Bi-Metal Hole Saw {0}", [['3/4"', '1"', '1-1/4"', '1-1/2"', '2"', '2-1/2"', '3"', '4"']], "EA", (9, 38), 0.2, False),
        ("Step Drill Bit {0}", [['1/8" - 1/2"', '3/16" - 7/8"', '1/4" - 1-3/8"']], "EA", (22, 68), 0.2, False),
        ("Cordless Drill/Driver 20V {0}", [["Kit 2 Batteries", "Bare Tool", "Hammer Drill Kit"]], "EA", (99, 249), 2.5, False),
        ("Wire Stripper {0} AWG", [["10-18", "8-16", "20-30"]], "EA", (16, 32), 0.2, False),
        ("Digital Multimeter {0}", [["True RMS", "True RMS with Temp", "Clamp 400A"]], "EA", (59, 189), 0.5, False),
        ("Tape Measure {0}", [["16ft", "25ft", "35ft"]], "EA", (9, 24), 0.4, False),
        ("PEX Crimp Tool {0}", [['1/2" & 3/4"', '1/2" - 1"', "Compact 3/8\" - 1\""]], "EA", (79, 189), 1.5, False),
    ]),
    "MRO": ("MRO & Jobsite Supplies", "northwind-supply", ["Cleanwell", "ShopPro", "Sealtite", "Jobline"], [
        ("PTFE Thread Seal Tape {0} (12 pack)", [['1/2" x 260"', '1/2" x 520"', '3/4" x 520"']], "PK", (6, 14), 0.2, False),
        ("Pipe Thread Sealant {0}", [["1 oz", "4 oz", "8 oz", "16 oz"]], "EA", (4, 19), 0.3, False),
        ("PVC Cement {0} {1}", [["Regular", "Medium Body", "Heavy Body"], ["8 oz", "16 oz", "32 oz"]], "EA", (7, 24), 0.5, False),
        ("PVC Primer Purple {0}", [["8 oz", "16 oz", "32 oz"]], "EA", (6, 17), 0.5, False),
        ("Lead-Free Solder {0} 1 lb", [["95/5", "97/3", "Silver-Bearing"]], "EA", (29, 68), 0.5, False),
        ("Vinyl Electrical Tape {0} (10 pack)", [WIRE_COLOURS], "PK", (9, 12), 0.4, False),
        ("Penetrating Lubricant 11 oz Aerosol (case of 12)", [[""]], "CS", (68, 68), 3.6, False),
        ("Contractor Trash Bags 42 gal (case of {0})", [["20", "32", "50"]], "CS", (24, 48), 5, False),
        ("Blue Shop Towels {0}", [["Roll of 55", "Box of 200", "Case of 12 Rolls"]], "EA", (4, 38), 1, False),
    ]),
}


@dataclass(frozen=True)
class ProductPlan:
    sku: str
    erp_item: str
    description: str
    category: str
    supplier: str
    unit_of_measure: str
    status: str
    drop_ship: bool
    weight_kg: Decimal
    list_price: Decimal

    def data(self) -> dict:
        return {
            "sku": self.sku, "description": self.description, "unit_of_measure": self.unit_of_measure,
            "status": self.status, "drop_ship": self.drop_ship, "weight_kg": self.weight_kg,
        }


def _expand(prefix: str) -> list[tuple[str, str, float, float, bool]]:
    """Every (description, UoM, price, kg, big) the category's templates make, brand by brand."""
    _, _, brands, templates = CATALOGUE[prefix]
    rows = []
    for template, lists, uom, (low, high), kg, big in templates:
        combos = list(cartesian(*lists))
        for position, combo in enumerate(combos):
            fraction = position / max(len(combos) - 1, 1)
            price = low + (high - low) * fraction
            text = " ".join(template.format(*combo).split())
            for brand_index, brand in enumerate(brands):
                rows.append((f"{brand} {text}", uom, price * (1 + 0.07 * brand_index), kg, big))
    return rows


def catalogue_size() -> int:
    return sum(len(_expand(prefix)) for prefix in CATALOGUE)


def products_plan(*, seed: int, total: int) -> list[ProductPlan]:
    """``total`` products spread over the categories in proportion to what each can offer.

    However small the profile, each category with equipment carries one drop-ship item,
    and the catalogue has a discontinued and an inactive product: the cases a demo shows.
    """
    rng = DemoRandom.for_part(seed, "products")
    pools = {prefix: _expand(prefix) for prefix in CATALOGUE}
    available = sum(len(pool) for pool in pools.values())
    if total > available:
        raise ValueError(f"The demo catalogue has {available} distinct products; ask for at most that many.")
    shares = {prefix: total * len(pool) // available for prefix, pool in pools.items()}
    for prefix in sorted(pools, key=lambda p: len(pools[p]) - shares[p], reverse=True)[: total - sum(shares.values())]:
        shares[prefix] += 1
    plans: list[ProductPlan] = []
    for prefix, pool in pools.items():
        category, supplier, _, _ = CATALOGUE[prefix]
        chosen = rng.sample(pool, shares[prefix])
        big = [row for row in pool if row[4]]
        if chosen and big and not any(row[4] for row in chosen):
            chosen[-1] = rng.choice(big)
        first_big = True
        for description, uom, price, kg, is_big in chosen:
            roll = rng.random()
            status = (
                ProductStatus.DISCONTINUED if roll < 0.02 else ProductStatus.INACTIVE if roll < 0.05
                else ProductStatus.ACTIVE
            )
            drop_ship = is_big and (first_big or rng.chance(0.7))
            first_big = first_big and not is_big
            number = len(plans) + 1
            plans.append(ProductPlan(
                sku=f"{prefix}-{10000 + number}",
                erp_item=str(40_000_000 + number),
                description=description,
                category=category,
                supplier=supplier,
                unit_of_measure=uom,
                status=ProductStatus.ACTIVE if drop_ship else status,
                drop_ship=drop_ship,
                weight_kg=Decimal(str(round(kg * rng.uniform(0.9, 1.1), 3))),
                list_price=Decimal(str(round(price * rng.uniform(0.95, 1.05), 2))),
            ))
    stocked = [i for i, plan in enumerate(plans) if not plan.drop_ship]
    for status in (ProductStatus.DISCONTINUED, ProductStatus.INACTIVE):
        if len(stocked) > 10 and not any(plan.status == status for plan in plans):
            index = rng.choice(stocked)
            plans[index] = replace(plans[index], status=status)
    return plans
