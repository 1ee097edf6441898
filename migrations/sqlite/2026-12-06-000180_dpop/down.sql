DROP TABLE dpop_jtis;
