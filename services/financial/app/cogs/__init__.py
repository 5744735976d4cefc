"""Cost of goods sold, booked when the warehouse issues stock for a paid invoice."""
