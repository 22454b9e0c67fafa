"""Word lists for believable demo accounts, people and places (all fictional)."""

from __future__ import annotations

PLACE_WORDS = [
    "Lakeside", "Summit", "Ridgeview", "Pioneer", "Liberty", "Evergreen", "Northgate", "Harbor", "Granite",
    "Cedar", "Prairie", "Riverbend", "Keystone", "Bluewater", "Ironwood", "Redwood", "Cornerstone",
    "Frontier", "Heritage", "Patriot", "Silverline", "Tri-County", "Metro", "Capitol", "Bayside", "Sunbelt",
    "Great Lakes", "Piedmont", "Gulf Coast", "Mountain View", "Oak Hill", "Timberline", "Clearwater",
    "Stonebridge", "Westfield", "Eastside", "Southern Cross", "Blue Ridge", "Red River", "Lone Star",
    "Magnolia", "Brookside", "Highland", "Valley", "Coastal", "Midland", "Twin Cities", "Crescent",
]

SURNAMES = [
    "Hernandez", "Miller", "Johnson", "Okafor", "Nguyen", "Kowalski", "Patel", "O'Brien", "Schmidt",
    "Rossi", "Anderson", "Thompson", "Garcia", "Martinez", "Robinson", "Clark", "Lewis", "Walker", "Young",
    "Allen", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Carter", "Mitchell", "Perez",
    "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart",
    "Sanchez", "Morris", "Murphy", "Rivera", "Cook", "Rogers", "Morgan", "Peterson", "Cooper", "Reed",
    "Bailey", "Bell", "Kim", "Howard", "Ward", "Cox", "Diaz", "Richardson", "Wood", "Watson", "Brooks",
    "Bennett", "Gray", "James", "Reyes", "Hughes", "Price", "Myers", "Long", "Foster", "Sanders", "Ross",
]

FIRST_NAMES = [
    "James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "William", "Elizabeth",
    "Carlos", "Aisha", "Thomas", "Susan", "Daniel", "Jessica", "Matthew", "Sarah", "Anthony", "Karen",
    "Kevin", "Nancy", "Jason", "Lisa", "Brian", "Betty", "Luis", "Sandra", "Andre", "Ashley", "Wei",
    "Priya", "Tomasz", "Fatima", "Diego", "Hannah", "Marcus", "Grace", "Kenji", "Olivia", "Samuel", "Emma",
]

TRADES = [
    "Plumbing", "Plumbing & Heating", "Electric", "Electrical Contractors", "Mechanical", "HVAC Services",
    "Heating & Cooling", "Fire Protection", "Construction", "Builders", "Facilities Services",
    "Property Management", "Industrial Maintenance", "Refrigeration", "Controls", "Utility Services",
    "Pipe & Supply", "Energy Services", "Maintenance Group", "Contracting",
]

LEGAL_SUFFIXES = ["Inc.", "LLC", "Co.", "Corp.", "Ltd.", "Inc.", "LLC", ""]

INSTITUTIONS = [
    "City of {place} Public Works", "{place} Unified School District", "{place} Regional Medical Center",
    "{place} County Facilities", "{place} State University Physical Plant", "{place} Housing Authority",
]

SITE_KINDS = [
    "Jobsite", "Service Center", "Branch", "Warehouse", "Yard", "Project Office", "Plant", "Campus",
]

STREET_NAMES = [
    "Industrial", "Commerce", "Enterprise", "Main", "Oak", "Maple", "Pine", "Elm", "Washington", "Lincoln",
    "Jefferson", "Madison", "Franklin", "Park", "Lake", "Hill", "River", "Airport", "Center", "Market",
    "Railroad", "Mill", "Factory", "Distribution", "Logistics", "Trade Center", "Gateway", "Technology",
]
STREET_TYPES = ["St", "Ave", "Blvd", "Rd", "Dr", "Pkwy", "Way", "Ct", "Ln"]

# (city, state, ZIP prefix): where the accounts and their ship-to sites are.
CITIES = [
    ("Dallas", "TX", "752"), ("Fort Worth", "TX", "761"), ("Houston", "TX", "770"), ("Austin", "TX", "787"),
    ("San Antonio", "TX", "782"), ("Oklahoma City", "OK", "731"), ("Tulsa", "OK", "741"),
    ("Atlanta", "GA", "303"), ("Savannah", "GA", "314"), ("Charlotte", "NC", "282"), ("Raleigh", "NC", "276"),
    ("Nashville", "TN", "372"), ("Birmingham", "AL", "352"), ("Jacksonville", "FL", "322"),
    ("Orlando", "FL", "328"), ("Tampa", "FL", "336"), ("Columbus", "OH", "432"), ("Cleveland", "OH", "441"),
    ("Cincinnati", "OH", "452"), ("Indianapolis", "IN", "462"), ("Louisville", "KY", "402"),
    ("Pittsburgh", "PA", "152"), ("Detroit", "MI", "482"), ("Grand Rapids", "MI", "495"),
    ("Chicago", "IL", "606"), ("Milwaukee", "WI", "532"), ("St. Louis", "MO", "631"),
    ("Kansas City", "MO", "641"), ("Memphis", "TN", "381"), ("Little Rock", "AR", "722"),
]

CONTACT_ROLES = ["Buyer", "Purchasing manager", "Accounts payable", "Project manager", "Owner", "Receiving"]

DISPUTE_REASONS = [
    "Price on line 2 does not match contract price",
    "Quantity invoiced exceeds quantity received",
    "Freight charged on a prepaid-freight order",
    "Duplicate invoice for the same shipment",
]

RETURN_REASONS = [
    "Ordered wrong size", "Damaged in transit", "Defective on arrival", "Project cancelled",
    "Shipped wrong item", "Over-ordered",
]

CANCEL_REASONS = [
    "Customer cancelled: project postponed", "Duplicate order", "Customer found stock locally",
    "Credit not approved", "Price not accepted",
]
