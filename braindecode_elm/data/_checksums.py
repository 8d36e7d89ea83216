"""SHA-256 of the files PhysioNet publishes for eegmat 1.0.0 (its SHA256SUMS.txt)."""

EEGMAT_SHA256: dict[str, str] = {
    "README.txt": ("ecca977e9a77721580a88cf9dde49682f7f3c60597a0fd2f2181e8643bd12ccb"),
    "RECORDS": ("c5786ce9f3b980d56f1ac4c4052271b49f5d9339082464e03b1855f88da9264b"),
    "Subject00_1.edf": (
        "8b23c443f2f5f733f8ccc31a54377898009c28c7563d1107692a8735212d2f15"
    ),
    "Subject00_2.edf": (
        "635bbf035777008ff6c23d9c7bfc497d584fc71c56217022946d1fd056527e43"
    ),
    "Subject01_1.edf": (
        "9ece09029ed7d6911d96a776eb86905dd00a53c065c8eb9e0fd3c7aefd0f7ac4"
    ),
    "Subject01_2.edf": (
        "cbc4a053c2c8ce0e77ff62b4608a2cc2fe584886a6cd2fa0b343cfce3212376f"
    ),
    "Subject02_1.edf": (
        "02da547be13c67b310a020d48be83be6a1faad72b26519e8084038aea1aa30f8"
    ),
    "Subject02_2.edf": (
        "2ff3c97cbc6be7c4b3e43df85f42621d2837bd860463747557a6c3a558d802ee"
    ),
    "Subject03_1.edf": (
        "8f22c7eb40e2d2b2f61dadd874172f395fed9ca83c843e9d92b492ec2b3d4f41"
    ),
    "Subject03_2.edf": (
        "d4792fe50ad51d7ad607caeaf3c24f2d19087cb96311c4c2cbdfdd6418f56cf0"
    ),
    "Subject04_1.edf": (
        "0c96ec8a36767673772d35c1c8e8328c6a51f18e83b806f5776d02f388c65a73"
    ),
    "Subject04_2.edf": (
        "4455d8e910ac8f5a18a5c050e2b544d147b092458cd135c04e3030f2ee63f90f"
    ),
    "Subject05_1.edf": (
        "844f7c4c0868f64003f50d02ecd9db3a7e60cd51df66f9ad2a460e279001eaf8"
    ),
    "Subject05_2.edf": (
        "651a9f1cbe3e85605ef6a8e3c13c8d8d130e1c41bb8ac23ac3c2fa9ab63665f7"
    ),
    "Subject06_1.edf": (
        "cd5697ace53d4a824b7a89846a0a2e2ca40ec7ee661488551d44d6f2a301b5c1"
    ),
    "Subject06_2.edf": (
        "206452b3d030ba9f04b43f2747bcd24ecd0466e7abe27676ad054428286cf24d"
    ),
    "Subject07_1.edf": (
        "3991d7b4667065de53f80e5b40b69cee5c819f62c7352dca3b06ca5333fd1308"
    ),
    "Subject07_2.edf": (
        "f8381e8f22a118f772e316bfb4c87f2a41581d9590a7c58f3b8c95c62a1789f1"
    ),
    "Subject08_1.edf": (
        "02acf02d25d333fd9bc38b9b513b9f72072d5bd36b6ffa5a9a5be6f54fd9b853"
    ),
    "Subject08_2.edf": (
        "461c2f9c95b5d1128e32bd1272e44b3d5366493f57d88092278b440a7b30d0df"
    ),
    "Subject09_1.edf": (
        "68f2c002f30831ead8fc9418a24fe044419f430686beec62ddb46ab2c731036a"
    ),
    "Subject09_2.edf": (
        "05d4449075a6e62d61737a939cf142b27f84b60a9bdad788fd87a9fc9737b3b9"
    ),
    "Subject10_1.edf": (
        "25a392a6816c74da10539694e51210030742ced96379761afe02aa05f60bfcc8"
    ),
    "Subject10_2.edf": (
        "aa76531d0a6f72ebc163014383a42fdd7252ea310559d270943922607e51a13a"
    ),
    "Subject11_1.edf": (
        "8c85e9c32acbb18145bbc29126c19239beeba53c136d3014de285d5d359df9ac"
    ),
    "Subject11_2.edf": (
        "df36afd690987a373f0de02b91059760e155a7bf49732d05b7cce42bbe4de354"
    ),
    "Subject12_1.edf": (
        "e3e6985558b94bdbec4ec93745b353dbd090b3e160bc9e97546ea9b5e416c37d"
    ),
    "Subject12_2.edf": (
        "984c866e886a4c17f0f9196cc0ec072a3b492ef7af92d4dea48a451a433cfd13"
    ),
    "Subject13_1.edf": (
        "226fc6946d5b2181f4a219530b7eb642561d3acd8257a224d14c6aecd50e92bb"
    ),
    "Subject13_2.edf": (
        "12cb297ce1c1506d07418353900bcea3472b5c8bdb26d73db3c25c07d752ae71"
    ),
    "Subject14_1.edf": (
        "e9b5d97eb5dd4778dfb6e279f3e03b27cf4ad5881641f2eaabedeaf2b0475ee5"
    ),
    "Subject14_2.edf": (
        "4c0c71fc2f7962efea32593eeadeb96c38c44db6a203e9a6353662cd8b941544"
    ),
    "Subject15_1.edf": (
        "3bfa5357e3cf6bb849f0e950be34f14ee10f90348a1d1246c863936ce923e07c"
    ),
    "Subject15_2.edf": (
        "b107158d3d23fe53559712db1a13416391dd963038b1c73918de7483343393ad"
    ),
    "Subject16_1.edf": (
        "2e59fdf714c36f6c1520f5011aba46dca543e0561e98c3ca509dfe6112709130"
    ),
    "Subject16_2.edf": (
        "451eea5902ab279785fa98d474837c97ba2bc389b4b46f914a408555744b1774"
    ),
    "Subject17_1.edf": (
        "cc6be6007c4e029ee7d32b754fa07d1f514db9e8dce82a167b99af45caab7610"
    ),
    "Subject17_2.edf": (
        "9c9a0cbf89ed1152244b7c3d191c584cd59d3d99ff067e1610010d805cee62af"
    ),
    "Subject18_1.edf": (
        "ba4323db350812274637dafd018c5563ad8f46d8fc302ef0e3be0c5b6a4016a8"
    ),
    "Subject18_2.edf": (
        "5d8425c622e33be4990c4e1c91bb8411f448a9594393ee46738d96b23dfb7646"
    ),
    "Subject19_1.edf": (
        "7cd2b2609e184c777b613b8522ae44f84396d9eedcf857821ba535c701f88a83"
    ),
    "Subject19_2.edf": (
        "e9c53b3bb46cbbfef45cfed8d56d67a2d145f16babaa65e6eb0f1284958fc9c2"
    ),
    "Subject20_1.edf": (
        "d3f5eea33d1f0fbf6483a38bd9fbd929ef32bd9266a6e9c6c0a883520f9bd5ee"
    ),
    "Subject20_2.edf": (
        "f726b0b9bfd3a3300819f111af0f3f28151db03fe84f3b4531d8334b55333fd4"
    ),
    "Subject21_1.edf": (
        "77e3e122db2e1d8a302c125c23c63e0fe19f7c9850118f6215213a8e3331b4ad"
    ),
    "Subject21_2.edf": (
        "036cf82700fc3a635b390d4e72cb5ab3a93321bf8024d33bae963f4d6ac826dd"
    ),
    "Subject22_1.edf": (
        "656b1b96f5aa8118e3412ef816b918a085a38c29379a25fa4ecc862bd481684f"
    ),
    "Subject22_2.edf": (
        "814190dabd5a01f6532f9229458acd8e2fe995ae9a6e790109dd638c9eb46d92"
    ),
    "Subject23_1.edf": (
        "66204fb1ded55bf94a11f2fc33be3f2e54d2b0cac3663b4b1210a4deeaa97049"
    ),
    "Subject23_2.edf": (
        "ff7679c7e2af46a6ba16323c3239b461bbffce0672cfaaca746e721b18bb47bd"
    ),
    "Subject24_1.edf": (
        "8fc47eb62b9c3cfbf378996631023a699f1c116dc09d300e45d6e78660d16309"
    ),
    "Subject24_2.edf": (
        "06fbe6d6858f20bad550d379f80cea24e4758b4c858c0802e3cb076ecfeb70b6"
    ),
    "Subject25_1.edf": (
        "034d43d65ba88c9ae8006ef2f143a0b2e8b9c398b31b3b3d04c50820e385b27f"
    ),
    "Subject25_2.edf": (
        "249da1cdf89e86bc94dcc7c7e15327b4be1ec57af101afbe54fc225862362933"
    ),
    "Subject26_1.edf": (
        "aea2dbcb71f24ba64abbed986a52911641c464f41b4a0f0ec17f887c5d1e32a2"
    ),
    "Subject26_2.edf": (
        "327d6dba1a7a9afbfab376cfd62d0af8f57e875d66020bfcdf67be384376cb1b"
    ),
    "Subject27_1.edf": (
        "4da0de4c55117b3471f177ac63a91a40eacc55c954decbe93d1012c60635b7ac"
    ),
    "Subject27_2.edf": (
        "0261aa7b798e43d06405349a499c96fb5fe2cdaaa0c150c1e3c0ab3bd70575f9"
    ),
    "Subject28_1.edf": (
        "91482e34abc5832a4cee054d83698c87a717d0b2a5b82a18841adc5dc1ca9a24"
    ),
    "Subject28_2.edf": (
        "2585a5fa2b1288eb4924aec00d430e7456b3f0dab77363099476d67c8f0d35e1"
    ),
    "Subject29_1.edf": (
        "3c89cf82670f3441fb0e9fa8fb67b7861914f28fb9b8cf01d750ff6e8ab70e50"
    ),
    "Subject29_2.edf": (
        "6c3817cba4fd98ae1b42b914fcce96796184ac7c3484ad1e9cfeb0ad89bda61f"
    ),
    "Subject30_1.edf": (
        "3c0be4bb0770d56ae2f138e733c7d533c6d4de3635c7b8b5ac597f90aa9f5ec1"
    ),
    "Subject30_2.edf": (
        "cedd6ea81919a70aabf16da09a9553a0b1c8ea59f844089c3b8c5573936a4321"
    ),
    "Subject31_1.edf": (
        "b34b2a26dcb5183b990ccad6d708353713206649733ace6a4f217f62c8fd1672"
    ),
    "Subject31_2.edf": (
        "2a1e9617bf8db8205884241f0587adb26e9c3d262be53fc01a561c706f487054"
    ),
    "Subject32_1.edf": (
        "f49446c61f98c31e297f5da7fc488989ce1d71285802041c8a4b7bc06dab3489"
    ),
    "Subject32_2.edf": (
        "9af326b483841a3a13213c201985bab7acb8ec43964af7cea6a93de68a415b2c"
    ),
    "Subject33_1.edf": (
        "e05cf658e1ae91007f82cadfe024575fc13fe4d1f582da8bc8e3390c04c28640"
    ),
    "Subject33_2.edf": (
        "7c10fc307530f24c63309b71862916a1254d4e1f33af193fc73311f408475d7c"
    ),
    "Subject34_1.edf": (
        "6b1e12c0d21fb3e89d2ec760d33757aa24f042a29edcbf7330a864de0c723316"
    ),
    "Subject34_2.edf": (
        "57594e49709a0df6aeef2207d21933a5dcca9272a39040243d7beca4af846ec0"
    ),
    "Subject35_1.edf": (
        "1ffc283a017da6597c68cb19245c2138bdab0aa4d0355e323c27ed710d099a29"
    ),
    "Subject35_2.edf": (
        "c18fdaaf9ef0faeb49389326a0a383d428e49efe662b1ca4713c61aee8153dcb"
    ),
    "subject-info.csv": (
        "09c5951145d9f6a170ed7e01957406010ff549127ccf96ad7a2ead9fb0e018de"
    ),
}
